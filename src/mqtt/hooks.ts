import type { AedesOptions } from 'aedes'
import { acceptPublish, type AcceptPublishDeps } from './accept-publish.js'
import { forwardHooks, type ForwardDeps } from './forward.js'
import { createSignIn, type SignIn, type SignInDeps } from './sign-in.js'

export type HookDeps = SignInDeps & AcceptPublishDeps & ForwardDeps

/**
 * aedes' policy hooks, in the order a packet meets them: connection and sign-in (sign-in.ts) → access
 * and store before the acknowledgement (accept-publish.ts) → each delivery checked against its receiver
 * (forward.ts).
 */
export function createHooks(d: HookDeps): SignIn & Required<Pick<AedesOptions, 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>> {
  const signIn = createSignIn(d)
  return { ...signIn, authorizePublish: acceptPublish(d, signIn.identityOf), ...forwardHooks(d, signIn.identityOf) }
}
