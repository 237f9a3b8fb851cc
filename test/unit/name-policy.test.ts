import { test } from 'node:test'
import assert from 'node:assert/strict'
import { newUserNameProblem } from '../../src/users/name-policy.js'

test('new user names: the safe set, and no look-alikes of existing users', () => {
  const existing = ['jane', 'fred', 'admin', 'molly']
  for (const ok of ['janet', 'bob', 'jane-doe', 'kid2', 'A.B_c-d']) assert.equal(newUserNameProblem(ok, existing), undefined, ok)
  for (const unsafe of ['j\u0430ne', 'ｊａｎｅ', 'jane\u200b', 'bob smith', '-bob', '.hidden', 'x'.repeat(33), '', 'a@b']) {
    assert.match(newUserNameProblem(unsafe, existing) ?? '', /not in the safe set/, unsafe)
  }
  for (const [alike, of] of [['Jane', 'jane'], ['jan.e', 'jane'], ['fr-ed', 'fred'], ['adrnin', 'admin'], ['moIly', 'molly'], ['m0lly', 'molly'], ['mo1ly', 'molly']]) {
    assert.match(newUserNameProblem(alike, existing) ?? '', new RegExp(`looks too much like the existing user '${of}'`), alike)
  }
  assert.equal(newUserNameProblem('jane', existing), undefined, 'a password change keeps the name')
})
