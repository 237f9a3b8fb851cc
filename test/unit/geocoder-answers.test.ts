import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseGeocoder } from '../../src/config.js'
import { fromNominatim, fromPhoton } from '../../src/geo/geocoder.js'

describe('geocoder answers as Nominatim and Photon give them', () => {
  test('Nominatim: display_name is the address; the town and country code come from address', () => {
    assert.deepEqual(fromNominatim({ display_name: '12, Oudegracht, Utrecht, Nederland', address: { road: 'Oudegracht', city: 'Utrecht', country_code: 'nl' } }),
      { addr: '12, Oudegracht, Utrecht, Nederland', locality: 'Utrecht', cc: 'NL' })
    assert.deepEqual(fromNominatim({ error: 'Unable to geocode' }), {}, 'a place without an address (the sea) is cached as such')
  })

  test('Photon: street and number, postcode and town, country', () => {
    const body = { features: [{ properties: { street: 'Oudegracht', housenumber: '12', postcode: '3511 AB', city: 'Utrecht', country: 'Nederland', countrycode: 'NL' } }] }
    assert.deepEqual(fromPhoton(body), { addr: 'Oudegracht 12, 3511 AB Utrecht, Nederland', locality: 'Utrecht', cc: 'NL' })
    assert.deepEqual(fromPhoton({ features: [] }), { addr: undefined, locality: undefined, cc: undefined })
  })

  test('--geocoder takes nominatim:URL or photon:URL and says so otherwise', () => {
    assert.deepEqual(parseGeocoder('photon:http://127.0.0.1:2322/'), { kind: 'photon', url: 'http://127.0.0.1:2322' })
    assert.throws(() => parseGeocoder('google:https://maps'), /nominatim:URL or photon:URL/)
  })
})
