// The users section of the Sharing tab, for admins: the hub's users from /api/users, with add, new
// password, admin role and delete. The same password and admins files as `owntracks-hub user`.
import { api, latest, STALE } from './api.js'
import { el } from './format.js'

const $ = (id) => document.getElementById(id)

export class UsersPanel {
  constructor(session) {
    this.session = session
    this.users = []
    this.askUsers = latest()
    $('user-form').addEventListener('submit', (e) => { e.preventDefault(); this.addUser() })
  }

  /** Shows the list (admins only: the section stays hidden for everyone else). */
  async load() {
    $('share-users').hidden = false
    try {
      const answer = await this.askUsers('/api/users') // when the panel opens and after each change: the newest is drawn
      if (answer === STALE) return
      this.users = answer.users
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
    const me = u.name === this.session.user
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
    await this.load()
    return true
  }
}
