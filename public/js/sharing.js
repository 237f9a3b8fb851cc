// The sharing page: whom I see, who sees me and how; create, change and revoke my shares. Everything
// goes through /api/sharing, which checks each change as the whole rules file would be checked.
import { api, latest, STALE } from './api.js'
import { absTime, el, localInputValue } from './format.js'

const $ = (id) => document.getElementById(id)

/** "jane, fred" → ["jane", "fred"]; empty → []. */
const names = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)
const list = (xs) => (Array.isArray(xs) ? xs : [xs]).join(', ')

function endText(s) {
  if (s.until === null) return 'no end'
  const t = absTime(Date.parse(s.until) / 1000).slice(0, 16)
  return s.active ? `until ${t}` : `ended ${t}`
}
const precisionText = (s) => (s.precision ? `precision ${s.precision}` : 'exact position')
function historyText(h) {
  if (h === false) return 'live only, no history'
  if (h === true || h === null || h === undefined) return 'all history'
  return `history of the last ${h}`
}

export class SharingPanel {
  /** `onChanged`: called after a share was created, changed or revoked (the map reads what it may see again). */
  constructor(session, { onChanged }) {
    this.session = session
    this.onChanged = onChanged
    this.editing = null
    this.data = null
    this.askRules = latest()
    $('share-duration').addEventListener('change', () => { $('share-until-row').hidden = $('share-duration').value !== 'until' })
    $('share-form').addEventListener('submit', (e) => { e.preventDefault(); this.save() })
    $('share-cancel').addEventListener('click', () => this.edit(null))
  }

  async load() {
    try {
      const answer = await this.askRules('/api/sharing') // when the panel opens and after each change: the newest is drawn
      if (answer === STALE) return
      this.data = answer
      $('share-error').textContent = ''
    } catch (err) {
      $('share-error').textContent = `Could not load the sharing rules: ${err.message}`
      return
    }
    this.render()
  }

  render() {
    const { user, admin, shares, groups } = this.data
    $('share-from-row').hidden = !admin
    // Who sees me: my shares (an admin sees and manages everyone's).
    const out = shares.filter((s) => s.from === user || admin)
    // …and everyone who sees me without a share of mine: the other members of my groups, and the admins.
    const myGroups = groups.filter((g) => g.members.includes(user))
    const viaGroups = myGroups.map((g) => el('li', { 'data-seen-by': 'group', 'data-group': g.name },
      el('strong', {}, g.members.filter((m) => m !== user).join(', ') || '(only you)'), ` · through the group ${g.name}`,
      el('p', { class: 'meta' }, [precisionText(g), historyText(g.history), endText(g)].join(' · '))))
    const admins = this.data.seenByAdmins ?? []
    const viaAdmin = admins.length ? [el('li', { 'data-seen-by': 'admin' },
      el('strong', {}, admins.join(', ')), ` · ${admins.length === 1 ? 'an admin' : 'admins'} of this hub`,
      el('p', { class: 'meta' }, 'exact position · all history · can see every device'))] : []
    const none = out.length ? [] : [el('li', { class: 'hint' }, viaGroups.length || viaAdmin.length ? 'No share of yours: you share nothing yet.' : 'Nobody: you share nothing yet.')]
    $('shares-out').replaceChildren(...none, ...out.map((s) => this.shareItem(s, true)), ...viaGroups, ...viaAdmin)
    // Whom I see: shares to me, and the groups I am in.
    const inward = shares.filter((s) => s.from !== user && [].concat(s.to).includes(user))
    const groupItems = groups.filter((g) => g.members.includes(user)).map((g) => el('li', { 'data-group': g.name },
      el('strong', {}, g.members.filter((m) => m !== user).join(', ') || '(only you)'), ` · group ${g.name}`,
      el('p', { class: 'meta' }, [precisionText(g), historyText(g.history), endText(g)].join(' · '))))
    $('shares-in').replaceChildren(...inward.map((s) => this.shareItem(s, false)), ...groupItems)
    if (!inward.length && !groupItems.length) $('shares-in').replaceChildren(el('li', { class: 'hint' }, 'Nobody shares with you yet.'))
  }

  shareItem(s, manage) {
    const who = manage ? `${this.data.admin && s.from !== this.data.user ? `${s.from} → ` : ''}${list(s.to)}` : s.from
    const how = [s.devices ? `devices ${s.devices.join(', ')}` : 'all devices', precisionText(s), historyText(s.history), endText(s)]
    return el('li', { 'data-share': s.id, class: s.active ? '' : 'ended' },
      el('strong', {}, who), s.active ? '' : ' (ended)',
      el('p', { class: 'meta' }, how.join(' · ')),
      manage && el('div', { class: 'row' },
        el('button', { type: 'button', class: 'secondary', 'aria-label': `Change the share with ${list(s.to)}`, onclick: () => this.edit(s) }, 'Change'),
        el('button', { type: 'button', class: 'danger', 'aria-label': `Revoke the share with ${list(s.to)}`, onclick: () => this.revoke(s) }, 'Revoke')))
  }

  /** Fills the form with a share to change it, or (null) empties it for a new one. */
  edit(s) {
    this.editing = s
    $('share-form-title').textContent = s ? `Change the share with ${list(s.to)}` : 'Share my location'
    $('share-submit').textContent = s ? 'Save changes' : 'Share'
    $('share-cancel').hidden = !s
    $('share-keep').hidden = !s
    $('share-from').value = s ? s.from : ''
    $('share-to').value = s ? list(s.to) : ''
    $('share-devices').value = s?.devices ? s.devices.join(', ') : ''
    $('share-precision').value = s?.precision ?? ''
    $('share-history').value = s ? (s.history === false ? 'false' : s.history === true || s.history === null ? '' : s.history) : ''
    if (s && ![...$('share-history').options].some((o) => o.value === $('share-history').value)) {
      $('share-history').append(el('option', { value: s.history }, `Last ${s.history}`))
      $('share-history').value = s.history
    }
    if (s && s.precision && $('share-precision').value !== s.precision) {
      $('share-precision').append(el('option', { value: s.precision }, s.precision))
      $('share-precision').value = s.precision
    }
    $('share-duration').value = s ? 'keep' : '2h'
    $('share-until').value = localInputValue(new Date(Date.now() + 2 * 3600_000))
    $('share-until-row').hidden = true
    $('share-error').textContent = ''
    if (s) $('share-to').focus()
  }

  async save() {
    $('share-error').textContent = ''
    const to = names($('share-to').value)
    if (!to.length) { $('share-error').textContent = 'Name at least one person to share with.'; return }
    const devices = names($('share-devices').value)
    const precision = $('share-precision').value
    const h = $('share-history').value
    const history = h === '' ? null : h === 'false' ? false : h
    const body = { to: to.length === 1 ? to[0] : to, devices: devices.length ? devices : null, precision: precision || null, history }
    const d = $('share-duration').value
    if (d === 'until') {
      const until = new Date($('share-until').value)
      if (Number.isNaN(until.getTime()) || until <= new Date()) { $('share-error').textContent = 'Give an end in the future.'; return }
      body.until = until.toISOString().replace(/\.\d{3}Z$/, 'Z')
    } else if (d === 'none') {
      if (this.editing) { body.until = null; body.for = null }
    } else if (d !== 'keep') {
      body.for = d
    }
    const from = $('share-from').value.trim()
    if (this.data?.admin && from) body.from = from
    try {
      if (this.editing) {
        await api(`/api/sharing/shares/${encodeURIComponent(this.editing.id)}`, { method: 'PATCH', body })
      } else {
        // A new share leaves out what it does not limit.
        for (const k of Object.keys(body)) if (body[k] === null) delete body[k]
        await api('/api/sharing/shares', { method: 'POST', body })
      }
      this.edit(null)
    } catch (err) {
      $('share-error').textContent = err.message
      return
    }
    await this.load()
    this.onChanged()
  }

  async revoke(s) {
    try {
      await api(`/api/sharing/shares/${encodeURIComponent(s.id)}`, { method: 'DELETE' })
      if (this.editing?.id === s.id) this.edit(null)
    } catch (err) {
      $('share-error').textContent = err.message
    }
    await this.load()
    this.onChanged()
  }
}
