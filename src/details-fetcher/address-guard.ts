// Per logical address (one care unit's producer behind NTjP): a cap on calls in flight, a bounded wait
// for a free slot, and a circuit breaker. A producer that is down or slow fills only its own slots and,
// once its breaker is open, costs nothing at all; calls to every other address never wait for it.
// The addresses come from outside (EI's notifications), so the state kept per address is bounded: an
// address with nothing in flight is forgotten after `idleEvictMs`, and beyond `maxAddresses` the least
// recently used idle ones are forgotten first (a forgotten address starts again with a closed breaker).

export interface AddressGuardOptions {
  /** Calls in flight to one address at most; further calls wait for a slot. */
  maxInFlight: number;
  /** Calls waiting for a slot at one address at most; beyond that a call is refused at once. */
  maxQueued: number;
  /** How long a call waits for a slot before it is refused. */
  queueTimeoutMs: number;
  /** Consecutive transient failures that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before one trial call is let through (half-open). */
  coolDownMs: number;
  /** Addresses remembered at most (idle ones beyond it are forgotten, least recently used first). Default 10,000. */
  maxAddresses?: number;
  /** An address with nothing in flight or waiting is forgotten this long after its last call. Default 10 minutes. */
  idleEvictMs?: number;
  now?: () => number;
  /** Told when a breaker changes state (for operators' logs). */
  onBreakerChange?: (logicalAddress: string, state: BreakerState, consecutiveFailures: number) => void;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The slot a call holds; `release` must be called exactly once with how the call went. */
export interface Slot {
  release(result: 'success' | 'transient-failure' | 'neutral'): void;
}

/** Why a call did not get a slot. */
export type Refusal =
  | { reason: 'circuit-open'; retryAfterMs: number }
  | { reason: 'queue-full' }
  | { reason: 'queue-timeout' }
  | { reason: 'closed' };

export interface AddressStatus {
  inFlight: number;
  queued: number;
  breaker: BreakerState;
  consecutiveFailures: number;
}

interface Waiter {
  resolve(value: Slot | Refusal): void;
  timer: NodeJS.Timeout;
}

interface AddressState {
  inFlight: number;
  queue: Waiter[];
  breaker: BreakerState;
  consecutiveFailures: number;
  openedAt: number;
  /** In half-open state: the one trial call is under way. */
  trialInFlight: boolean;
  /** When a call last asked for or gave back a slot (for eviction). */
  lastUsedAt: number;
}

const DEFAULT_MAX_ADDRESSES = 10_000;
const DEFAULT_IDLE_EVICT_MS = 10 * 60_000;

export class AddressGuard {
  private readonly states = new Map<string, AddressState>();
  private readonly now: () => number;
  private readonly maxAddresses: number;
  private readonly idleEvictMs: number;
  private lastSweepAt: number;
  private closed = false;

  constructor(private readonly options: AddressGuardOptions) {
    this.now = options.now ?? Date.now;
    this.maxAddresses = options.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
    this.idleEvictMs = options.idleEvictMs ?? DEFAULT_IDLE_EVICT_MS;
    this.lastSweepAt = this.now();
  }

  /** How many addresses have state (bounded by maxAddresses plus those with calls in flight). */
  get size(): number {
    return this.states.size;
  }

  /** How many remembered addresses have an open or half-open breaker (metrics). */
  breakerCounts(): { open: number; halfOpen: number } {
    const counts = { open: 0, halfOpen: 0 };
    for (const [logicalAddress, state] of this.states) {
      this.breakerRefusal(logicalAddress, state);
      if (state.breaker === 'open') counts.open++;
      else if (state.breaker === 'half-open') counts.halfOpen++;
    }
    return counts;
  }

  /** A slot for a call to this address, or why there is none. Never waits on other addresses. */
  acquire(logicalAddress: string): Slot | Refusal | Promise<Slot | Refusal> {
    if (this.closed) return { reason: 'closed' };
    const state = this.state(logicalAddress);
    const refusal = this.breakerRefusal(logicalAddress, state);
    if (refusal) return refusal;
    if (state.inFlight < this.options.maxInFlight) return this.grant(logicalAddress, state);
    // Half-open and every slot still held by calls from before: no trial now, and no waiting for one.
    if (state.breaker === 'half-open') return { reason: 'circuit-open', retryAfterMs: this.options.coolDownMs };
    if (state.queue.length >= this.options.maxQueued) return { reason: 'queue-full' };
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          state.queue.splice(state.queue.indexOf(waiter), 1);
          resolve({ reason: 'queue-timeout' });
          this.forgetIfIdle(logicalAddress, state);
        }, this.options.queueTimeoutMs),
      };
      state.queue.push(waiter);
    });
  }

  status(logicalAddress: string): AddressStatus {
    const state = this.states.get(logicalAddress);
    if (state) this.breakerRefusal(logicalAddress, state);
    return {
      inFlight: state?.inFlight ?? 0,
      queued: state?.queue.length ?? 0,
      breaker: state?.breaker ?? 'closed',
      consecutiveFailures: state?.consecutiveFailures ?? 0,
    };
  }

  /** Refuses every waiting and future call. Calls in flight finish on their own. */
  close(): void {
    this.closed = true;
    for (const state of this.states.values()) this.refuseQueue(state, { reason: 'closed' });
  }

  private state(logicalAddress: string): AddressState {
    const at = this.now();
    if (at - this.lastSweepAt >= this.idleEvictMs) this.evictIdle(at);
    let state = this.states.get(logicalAddress);
    if (state) {
      // Map order is the order of last use: the first entries are the least recently used.
      this.states.delete(logicalAddress);
    } else {
      if (this.states.size >= this.maxAddresses) this.evictIdle(at, this.states.size - this.maxAddresses + 1);
      state = {
        inFlight: 0,
        queue: [],
        breaker: 'closed',
        consecutiveFailures: 0,
        openedAt: 0,
        trialInFlight: false,
        lastUsedAt: at,
      };
    }
    state.lastUsedAt = at;
    this.states.set(logicalAddress, state);
    return state;
  }

  /**
   * Forgets idle addresses unused for idleEvictMs, and then, to make room for `atLeast`, the least recently used
   * idle ones.
   */
  private evictIdle(at: number, atLeast = 0): void {
    this.lastSweepAt = at;
    let evicted = 0;
    for (const [logicalAddress, state] of this.states) {
      if (state.inFlight > 0 || state.queue.length > 0) continue;
      if (at - state.lastUsedAt >= this.idleEvictMs || evicted < atLeast) {
        this.states.delete(logicalAddress);
        evicted++;
      }
    }
  }

  /** Moves an open breaker to half-open after the cool-down; says whether a new call must be refused. */
  private breakerRefusal(logicalAddress: string, state: AddressState): Refusal | undefined {
    if (state.breaker === 'open') {
      const waited = this.now() - state.openedAt;
      if (waited < this.options.coolDownMs)
        return { reason: 'circuit-open', retryAfterMs: this.options.coolDownMs - waited };
      this.setBreaker(logicalAddress, state, 'half-open');
    }
    // Half-open: one trial call at a time; the others come back when it has shown whether the producer is back.
    if (state.breaker === 'half-open' && state.trialInFlight) {
      return { reason: 'circuit-open', retryAfterMs: this.options.coolDownMs };
    }
    return undefined;
  }

  private grant(logicalAddress: string, state: AddressState): Slot {
    state.inFlight += 1;
    const trial = state.breaker === 'half-open';
    if (trial) state.trialInFlight = true;
    let released = false;
    return {
      release: (result) => {
        if (released) return;
        released = true;
        state.inFlight -= 1;
        state.lastUsedAt = this.now();
        if (trial) state.trialInFlight = false;
        this.record(logicalAddress, state, result, trial);
        this.handOver(logicalAddress, state);
        // Addresses that were all busy at once may have gone past the bound: back under it as they idle.
        if (this.states.size > this.maxAddresses) this.evictIdle(this.now(), this.states.size - this.maxAddresses);
      },
    };
  }

  private record(
    logicalAddress: string,
    state: AddressState,
    result: 'success' | 'transient-failure' | 'neutral',
    trial: boolean,
  ): void {
    if (result === 'success') {
      // Any answer from the producer (even "not found") shows that it is alive.
      state.consecutiveFailures = 0;
      if (state.breaker !== 'closed') this.setBreaker(logicalAddress, state, 'closed');
    } else if (result === 'transient-failure') {
      state.consecutiveFailures += 1;
      if (state.breaker === 'half-open' && trial) {
        this.open(logicalAddress, state);
      } else if (state.breaker === 'closed' && state.consecutiveFailures >= this.options.failureThreshold) {
        this.open(logicalAddress, state);
      }
    }
    // 'neutral' (the platform answered for the producer, e.g. no route) says nothing about the producer:
    // in half-open state the next call becomes the trial.
  }

  private open(logicalAddress: string, state: AddressState): void {
    state.openedAt = this.now();
    this.setBreaker(logicalAddress, state, 'open');
    // Calls waiting for this producer would only wait for more timeouts: send them back now.
    this.refuseQueue(state, { reason: 'circuit-open', retryAfterMs: this.options.coolDownMs });
  }

  private setBreaker(logicalAddress: string, state: AddressState, breaker: BreakerState): void {
    if (state.breaker === breaker) return;
    state.breaker = breaker;
    this.options.onBreakerChange?.(logicalAddress, breaker, state.consecutiveFailures);
  }

  /** Gives a freed slot to the next waiting call, if the breaker lets it through. */
  private handOver(logicalAddress: string, state: AddressState): void {
    while (state.queue.length > 0 && state.inFlight < this.options.maxInFlight) {
      // Half-open with its trial under way: the waiters stay queued until the trial settles it.
      if (this.breakerRefusal(logicalAddress, state)) return;
      const waiter = state.queue.shift() as Waiter;
      clearTimeout(waiter.timer);
      waiter.resolve(this.grant(logicalAddress, state));
    }
    this.forgetIfIdle(logicalAddress, state);
  }

  private refuseQueue(state: AddressState, refusal: Refusal): void {
    for (const waiter of state.queue.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve(refusal);
    }
  }

  /** Keeps the map to the addresses that have something to remember. */
  private forgetIfIdle(logicalAddress: string, state: AddressState): void {
    if (
      state.inFlight === 0 &&
      state.queue.length === 0 &&
      state.breaker === 'closed' &&
      state.consecutiveFailures === 0
    ) {
      this.states.delete(logicalAddress);
    }
  }
}

export function isRefusal(value: Slot | Refusal): value is Refusal {
  return 'reason' in value;
}
