// `npm run demo`: the service on embedded defaults with the development demonstration turned on
// (DEMO=true, and the development sign-in DEV_LOGIN=true), unless the environment says otherwise.
// loadConfig still refuses the demo in production.
process.env.DEMO ??= 'true';
process.env.DEV_LOGIN ??= 'true';
await import('../main.js');
