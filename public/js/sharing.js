// The sharing page: whom I see, who sees me and how; create, change and revoke my shares. Everything
// goes through /api/sharing, which checks each change as the whole rules file would be checked.
import { api } from './api.js'
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
    $('share-duration').addEventListener('change', () => { $('share-until-row').hidden = $('share-duration').value !== 'until' })
    $('share-form').addEventListener('submit', (e) => { e.preventDefault(); this.save() })
    $('share-cancel').addEventListener('click', () => this.edit(null))
  }

  async load() {
    try {
      this.data = await api('/api/sharing')
      $('share-error').textContent = ''
    } catch (err) {
      $('share-error').textContent = `Could not load the sharing rules: ${err.message}`
      return
    }
    this.render()
    if (this.data.admin) this.loadUsers()
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

  /** Admins: the hub's users from /api/users, with add, new password, admin role and delete. */
  async loadUsers() {
    $('share-users').hidden = false
    if (!this.userFormReady) {
      this.userFormReady = true
      $('user-form').addEventListener('submit', (e) => { e.preventDefault(); this.addUser() })
    }
    try {
      this.users = (await api('/api/users')).users
    } catch (err) {
      $('users-list').replaceChildren(el('li', { class: 'error' }, `Could not list users: ${err.message}`))
      return
    }
    this.renderUsers()
  }

  renderUsers() {
    $('users-list').replaceChildren(...this.users.map((u) => this.userItem(u)))
  }

  userItem(u) {
    const me = u.name === this.data.user
    const li = el('li', { 'data-user': u.name },
      el('strong', {}, u.name), u.admin ? ' (admin)' : '', me ? ' · you' : '')
    const buttons = el('div', { class: 'row' },
      el('button', { type: 'button', class: 'secondary', 'aria-label': `Change the password of ${u.name}`, onclick: () => this.passwordForm(li, u) }, 'Password'),
      el('button', { type: 'button', class: 'secondary', disabled: me && u.admin, 'aria-label': u.admin ? `Take the admin role from ${u.name}` : `Make ${u.name} an admin`,
        onclick: () => this.changeUser(u, { admin: !u.admin }, u.admin ? `${u.name} is no longer an admin.` : `${u.name} is now an admin.`) }, u.admin ? 'Remove admin' : 'Make admin'),
      el('button', { type: 'button', class: 'danger', disabled: me, 'aria-label': `Delete the user ${u.name}`, onclick: () => this.confirmDelete(li, u) }, 'Delete'))
    li.append(buttons)
    return li
  }

  /** An inline form under the user: new password, Save, Cancel. */
  passwordForm(li, u) {
    li.querySelector('form')?.remove()
    const id = `user-pw-${[...u.name].map((c) => c.charCodeAt(0).toString(16)).join('')}`
    const input = el('input', { id, type: 'password', autocomplete: 'new-password', required: true })
    const form = el('form', { class: 'inline' },
      el('label', { for: id }, `New password for ${u.name}`), input,
      el('div', { class: 'row' },
        el('button', { type: 'submit' }, 'Save password'),
        el('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')))
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      if (input.value) this.changeUser(u, { password: input.value }, `The password of ${u.name} was changed.`)
    })
    li.append(form)
    input.focus()
  }

  /** Deleting asks once more in the page: "Delete jane?" Yes / No. */
  confirmDelete(li, u) {
    li.querySelector('form')?.remove()
    const no = el('button', { type: 'button', class: 'secondary', onclick: () => { form.remove(); li.querySelector('button.danger')?.focus() } }, 'Keep')
    const form = el('form', { class: 'inline', role: 'group', 'aria-label': `Confirm deleting ${u.name}` },
      el('p', {}, `Delete ${u.name}? They can no longer sign in or log in from a phone. Their stored locations stay.`),
      el('div', { class: 'row' },
        el('button', { type: 'submit', class: 'danger' }, `Yes, delete ${u.name}`), no))
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      await this.userRequest(() => api(`/api/users/${encodeURIComponent(u.name)}`, { method: 'DELETE' }), `${u.name} was deleted.`)
    })
    li.append(form)
    no.focus()
  }

  changeUser(u, body, done) {
    return this.userRequest(() => api(`/api/users/${encodeURIComponent(u.name)}`, { method: 'PATCH', body }), done)
  }

  async addUser() {
    const name = $('user-name').value.trim()
    const password = $('user-password').value
    const ok = await this.userRequest(() => api('/api/users', { method: 'POST', body: { name, password, admin: $('user-admin').checked } }), `${name} was added.`)
    if (ok) {
      $('user-form').reset()
      $('user-name').focus()
    }
  }

  /** Runs one change, says how it went, and lists the users again. */
  async userRequest(run, done) {
    $('user-error').textContent = ''
    $('user-status').textContent = ''
    try {
      await run()
    } catch (err) {
      $('user-error').textContent = err.message
      return false
    }
    $('user-status').textContent = done
    await this.loadUsers()
    return true
  }
}
