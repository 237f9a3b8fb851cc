// Tours from the map: create a public, time-limited link for one of your own devices, list, copy and
// delete them. Tours the OwnTracks iOS app requested appear here too.
import { api, latest, STALE } from './api.js'
import { absTime, el, localInputValue, utcTourTime } from './format.js'

const $ = (id) => document.getElementById(id)

export class ToursPanel {
  constructor(live, session) {
    this.live = live
    this.session = session
    this.list = $('tours-list')
    this.askTours = latest()
    this.select = $('tour-device')
    const now = new Date()
    $('tour-from').value = localInputValue(now)
    $('tour-to').value = localInputValue(new Date(now.getTime() + 2 * 3600_000))
    $('tour-form').addEventListener('submit', (e) => { e.preventDefault(); this.create() })
  }

  refreshDevices() {
    const mine = [...this.live.devices.values()].filter((d) => d.loc.username === this.session.user).map((d) => d.loc.device).sort()
    if (mine.join('\n') === [...this.select.options].map((o) => o.value).join('\n')) return
    const keep = this.select.value
    this.select.replaceChildren(...mine.map((d) => el('option', { value: d, selected: d === keep }, d)))
  }

  async load() {
    try {
      const answer = await this.askTours('/api/tours') // when the panel opens and after each change: the newest is drawn
      if (answer !== STALE) this.render(answer.tours)
    } catch (err) {
      $('tour-error').textContent = `Could not load your tours: ${err.message}`
    }
  }

  render(tours) {
    this.list.replaceChildren(...tours.map((t) => {
      const url = el('input', { class: 'url', value: t.url, readonly: true, 'aria-label': `Link of ${t.label || 'the tour'}` })
      const copy = navigator.clipboard && el('button', { type: 'button', class: 'secondary', onclick: () => navigator.clipboard.writeText(t.url) }, 'Copy link')
      return el('li', { 'data-uuid': t.uuid },
        el('strong', {}, t.label || '(no label)'), ` · ${t.device}`,
        el('p', {}, `${absTime(t.fromTst)} to ${absTime(t.toTst)}`),
        url,
        el('div', { class: 'row' },
          el('a', { href: t.url, target: '_blank', rel: 'noopener noreferrer' }, 'Open'),
          copy,
          el('button', { type: 'button', class: 'danger', onclick: () => this.remove(t.uuid) }, 'Delete')))
    }))
    if (!tours.length) this.list.replaceChildren(el('li', { class: 'hint' }, 'No tours yet.'))
  }

  async create() {
    $('tour-error').textContent = ''
    const from = new Date($('tour-from').value)
    const to = new Date($('tour-to').value)
    if (!this.select.value) { $('tour-error').textContent = 'You have no device yet: a phone must report a location first.'; return }
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to) { $('tour-error').textContent = 'Give a start before the end.'; return }
    try {
      await api('/api/tours', { method: 'POST', body: { device: this.select.value, label: $('tour-label').value.trim(), from: utcTourTime(from), to: utcTourTime(to) } })
      $('tour-label').value = ''
    } catch (err) {
      $('tour-error').textContent = err.message
    }
    await this.load()
  }

  async remove(uuid) {
    try {
      await api(`/api/tours/${encodeURIComponent(uuid)}`, { method: 'DELETE' })
    } catch (err) {
      $('tour-error').textContent = err.message
    }
    await this.load()
  }
}
