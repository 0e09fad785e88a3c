// Swedish time: local wall-clock parsing and formatting (Europe/Stockholm), as EI and citizens write it.
export { formatSwedishLocalTime, parseSwedishLocalTime, swedishWallClock } from './swedish-time.js';
export { formatSwedishDateTime, formatSwedishSpan } from './swedish-format.js';
