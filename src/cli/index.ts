// The command lines (`npm run admin`, `npm run token`, `npm run demo:send`): entry points run by tsx, each
// calling other components through their index.ts. Nothing imports them, so this interface is empty.
export {};
