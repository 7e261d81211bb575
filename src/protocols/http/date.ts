/**
 * HTTP-date (RFC 9110 §5.6.7): IMF-fixdate out, all three formats in
 * (IMF-fixdate, obsolete RFC 850 and asctime). Times are epoch milliseconds
 * passed in; nothing here reads a clock.
 */

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const
const LONG_DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years IMF-fixdate's 4DIGIT can hold. */
const MIN_MILLIS = -62_167_219_200_000
const MAX_MILLIS = 253_402_300_799_000

const pad2 = (n: number): string => (n < 10 ? "0" : "") + n
const pad4 = (n: number): string => String(n).padStart(4, "0")

// The last second formatted: a server stamps many responses per second.
let cachedSecond = NaN
let cachedText = ""

/**
 * `epochMillis` as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`
 * (RFC 9110 §5.6.7). Milliseconds are dropped; times outside years
 * 0000–9999 are clamped to them, and NaN reads as the epoch.
 */
export const formatHttpDate = (epochMillis: number): string => {
  let millis = Number.isNaN(epochMillis) ? 0 : epochMillis
  millis = Math.min(MAX_MILLIS, Math.max(MIN_MILLIS, millis))
  const second = Math.floor(millis / 1000)
  if (second === cachedSecond) return cachedText
  const d = new Date(second * 1000)
  const text = `${DAY_NAMES[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${
    pad4(d.getUTCFullYear())
  } ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`
  cachedSecond = second
  cachedText = text
  return text
}

const SHORT_DAY = DAY_NAMES.join("|")
const LONG_DAY = LONG_DAY_NAMES.join("|")
const MONTH = MONTHS.join("|")

// HTTP-date is case-sensitive (RFC 9110 §5.6.7); each pattern is linear (no nested quantifiers).
const IMF_FIXDATE = new RegExp(`^(?:${SHORT_DAY}), (\\d\\d) (${MONTH}) (\\d{4}) (\\d\\d):(\\d\\d):(\\d\\d) GMT$`)
const RFC850_DATE = new RegExp(`^(?:${LONG_DAY}), (\\d\\d)-(${MONTH})-(\\d\\d) (\\d\\d):(\\d\\d):(\\d\\d) GMT$`)
const ASCTIME_DATE = new RegExp(`^(?:${SHORT_DAY}) (${MONTH}) ([ \\d]\\d) (\\d\\d):(\\d\\d):(\\d\\d) (\\d{4})$`)

/** Longer than any HTTP-date: refused before a regular expression sees it. */
const MAX_DATE_LENGTH = 40

const daysInMonth = (year: number, month: number): number => {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31
}

const toMillis = (
  year: number,
  monthName: string,
  day: number,
  hour: number,
  minute: number,
  second: number
): number | undefined => {
  const month = (MONTHS as ReadonlyArray<string>).indexOf(monthName)
  // RFC 5322 §3.3 allows second 60 (a leap second); it reads as the next minute's 00.
  if (day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return undefined
  const date = new Date(0)
  date.setUTCFullYear(year, month, day)
  date.setUTCHours(hour, minute, second, 0)
  const millis = date.getTime()
  return Number.isFinite(millis) ? millis : undefined
}

/**
 * RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is the
 * most recent past year with those digits. Without `now`, 70–99 are 19xx
 * and 00–69 are 20xx (the POSIX strptime rule).
 */
const fullYear = (twoDigits: number, now: number | undefined): number => {
  if (now === undefined || !Number.isFinite(now)) return twoDigits < 70 ? 2000 + twoDigits : 1900 + twoDigits
  const thisYear = new Date(now).getUTCFullYear()
  let year = thisYear - (thisYear % 100) + twoDigits
  if (year > thisYear + 50) year -= 100
  else if (year + 100 <= thisYear + 50) year += 100
  return year
}

/**
 * Epoch milliseconds of an HTTP-date in any of its three formats (RFC 9110
 * §5.6.7), or `undefined` for anything else (an invalid date in
 * If-Modified-Since is ignored, §13.1.3). The day name is checked for form,
 * not against the date. `now` resolves RFC 850's two-digit years.
 */
export const parseHttpDate = (text: string, now?: number): number | undefined => {
  if (text.length > MAX_DATE_LENGTH) return undefined
  let m = IMF_FIXDATE.exec(text)
  if (m !== null) return toMillis(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  m = RFC850_DATE.exec(text)
  if (m !== null) {
    return toMillis(fullYear(Number(m[3]), now), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  m = ASCTIME_DATE.exec(text)
  if (m !== null) {
    // asctime's day is 2( SP / DIGIT ) DIGIT: " 6" or "06"; a space second ("1 ") does not match the pattern.
    return toMillis(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]))
  }
  return undefined
}
