// The people list: everyone the signed-in user may see, their devices, when each was last seen and its
// battery; a click focuses the device on the map. The search box filters by name, user, device or initials.
import { battery, colorFor, displayName, el, timeAgo } from './format.js'
import { isStale } from './live.js'

export class People {
  constructor(live) {
    this.live = live
    this.list = document.getElementById('people-list')
    this.empty = document.getElementById('people-empty')
    this.search = document.getElementById('people-search')
    this.search.addEventListener('input', () => this.render())
  }

  render() {
    const q = this.search.value.trim().toLowerCase()
    const byUser = new Map()
    for (const [key, { loc }] of this.live.devices) {
      const words = [loc.username, displayName(loc), loc.device, loc.tid].filter((w) => typeof w === 'string').join(' ').toLowerCase()
      if (q && !words.includes(q)) continue
      if (!byUser.has(loc.username)) byUser.set(loc.username, [])
      byUser.get(loc.username).push([key, loc])
    }
    const people = [...byUser.entries()].sort((a, b) => displayName(a[1][0][1]).localeCompare(displayName(b[1][0][1])))
    this.list.replaceChildren(...people.map(([user, devices]) => {
      const dot = el('span', { class: 'dot', 'aria-hidden': 'true' })
      dot.style.setProperty('--person', colorFor(user))
      const name = displayName(devices[0][1])
      return el('li', {},
        el('div', { class: 'person' }, dot, name === user ? name : `${name} (${user})`),
        devices.sort((a, b) => a[1].device.localeCompare(b[1].device)).map(([key, loc]) => {
          const meta = [timeAgo(loc.tst), battery(loc), isStale(loc) && 'stale'].filter(Boolean).join(' · ')
          return el('button', { type: 'button', 'data-key': key, onclick: () => this.live.focus(key) },
            el('span', {}, loc.device), el('span', { class: 'meta' }, meta))
        }))
    }))
    this.empty.hidden = this.live.devices.size > 0
  }
}
