// The map's service worker: shows the hub's alerts (Web Push) and opens the map when one is tapped.
self.addEventListener('push', (event) => {
  let m = {}
  try { m = event.data ? event.data.json() : {} } catch { m = { title: 'OwnTracks Hub', message: event.data?.text() ?? '' } }
  event.waitUntil(self.registration.showNotification(m.title ?? 'OwnTracks Hub', {
    body: m.message ?? '', icon: '/favicon.svg', badge: '/favicon.svg', tag: `${m.user ?? ''}-${m.place ?? ''}`, data: m, timestamp: typeof m.tst === 'number' ? m.tst * 1000 : Date.now(),
  }))
})

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((list) => {
    const open = list.find((c) => new URL(c.url).pathname === '/')
    return open ? open.focus() : self.clients.openWindow('/')
  }))
})
