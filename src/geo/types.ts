/** Place names the hub adds to a location, in the Recorder's field names. */
export interface PlaceFields {
  /** ISO 3166-1 alpha-2 country code, upper case (absent at sea). */
  cc?: string
  /** IANA time zone name (at sea: the nautical Etc/GMT±N zone). */
  tzname?: string
  /** The nearest town or village of at least ~1000 people (GeoNames). */
  locality?: string
  /** A street address, from the operator's geocoder when one is configured. */
  addr?: string
}

/** How much place a viewer may get: everything, the town, or the country only. */
export type PlaceDetail = 'street' | 'town' | 'country'
