// The live event stream: `/ws`, resumed with `?since=<last id>` after a drop so the events
// that happened meanwhile are replayed, de-duplicated by event id (a resume may send a few
// twice). Where the WebSocket is refused but the API answers (a proxy that blocks upgrades, or
// the server's cap on sockets per client: a 429), it falls back to asking the views to refresh
// every 2 s and keeps retrying the socket now and then.

import { api, ApiError, getKey } from "./api.js";

const POLL_MS = 2000;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_CAP_MS = 4000; // a restored server is seen within a few seconds
const POLLING_RETRY_MS = 15000; // while polling, how often to try the socket again
const FAILURES_BEFORE_POLLING = 3;
const PROVEN_AFTER_MS = 5000; // a socket open this long (or that delivered a message) works
const CLOSE_POLICY = 1008; // the server refused what we asked for (the filter, or `since`)
const SEEN_KEPT = 5000;

export class Live {
  /**
   * @param {object} handlers
   * @param {(event: object) => void} handlers.onEvent each new event (and `{event: "lagged"}`)
   * @param {(state: string) => void} handlers.onState live | polling | connecting | offline
   * @param {() => void} handlers.onRefresh the views should re-read what they show
   */
  constructor({ onEvent, onState, onRefresh }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.onRefresh = onRefresh;
    this.lastId = null;
    this.seen = new Set();
    this.seenOrder = [];
    this.socket = null;
    this.stopped = true;
    this.attempt = 0;
    this.blockedCount = 0; // socket failures while the API answered
    this.retryTimer = null;
    this.provenTimer = null;
    this.pollTimer = null;
    this.state = null;
    window.addEventListener("online", () => this.retryNow());
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.blockedCount = 0;
    this.state = null; // the shell may have shown something else meanwhile (waiting for a key)
    this.setState("connecting");
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.provenTimer);
    this.stopPolling();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close();
    }
  }

  /** A new key: the open socket was authorised with the old one. */
  restart() {
    this.stop();
    this.start();
  }

  retryNow() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const params = new URLSearchParams();
    if (this.lastId) params.set("since", this.lastId);
    const key = getKey();
    if (key) params.set("api_key", key); // browsers cannot set headers on a WebSocket
    const text = params.toString();
    return `${scheme}//${location.host}/ws${text ? `?${text}` : ""}`;
  }

  connect() {
    let opened = false;
    const socket = new WebSocket(this.url());
    this.socket = socket;
    // Opening is not enough to reset the backoff: a server that accepts and then closes at
    // once (a store error, a refused `since`) would otherwise be asked again every 250 ms,
    // each time making the views re-read. A message, or staying open a while, proves it works.
    const proven = () => {
      clearTimeout(this.provenTimer);
      if (this.socket === socket) this.attempt = 0;
    };
    socket.addEventListener("open", () => {
      opened = true;
      this.blockedCount = 0; // upgrades do get through
      this.stopPolling();
      this.setState("live");
      this.onRefresh(); // counts may have moved while we were away
      clearTimeout(this.provenTimer);
      this.provenTimer = setTimeout(proven, PROVEN_AFTER_MS);
    });
    socket.addEventListener("message", (message) => {
      proven();
      this.receive(message.data);
    });
    socket.addEventListener("close", (close) => {
      if (this.socket !== socket) return; // stopped or replaced
      clearTimeout(this.provenTimer);
      this.socket = null;
      if (this.stopped) return;
      if (!opened) {
        this.diagnose();
        return;
      }
      if (close.code === CLOSE_POLICY && this.lastId !== null) {
        // The server will not resume from our `since`: asking again with it would be refused
        // again. Start from now, and have the views re-read what the missed events changed.
        this.lastId = null;
        this.missed();
      }
      this.setState("connecting");
      this.schedule(this.backoff());
    });
  }

  /** Events were lost (the server said `lagged`, or refused to resume): the views re-read. */
  missed(event = { event: "lagged" }) {
    this.onEvent(event);
    this.onRefresh();
  }

  receive(text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    if (event.event === "lagged") {
      this.missed(event);
      return;
    }
    if (typeof event.id !== "string" || this.seen.has(event.id)) return;
    this.seen.add(event.id);
    this.seenOrder.push(event.id);
    if (this.seenOrder.length > SEEN_KEPT) this.seen.delete(this.seenOrder.shift());
    this.lastId = event.id;
    this.onEvent(event);
  }

  /** The socket did not open: is the server gone, the key refused, or is the socket refused? */
  async diagnose() {
    try {
      await api("GET", "/api/v1/stats");
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof ApiError && error.status === 401) {
        this.stop(); // the app asks for a key and restarts us
        this.setState("offline");
        return;
      }
      this.setState("offline");
      this.schedule(this.backoff());
      return;
    }
    if (this.stopped) return;
    this.blockedCount += 1;
    if (this.blockedCount >= FAILURES_BEFORE_POLLING) {
      this.startPolling();
      this.schedule(POLLING_RETRY_MS);
    } else {
      this.setState("connecting");
      this.schedule(this.backoff());
    }
  }

  backoff() {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    this.attempt += 1;
    return ceiling / 2 + Math.random() * (ceiling / 2); // jitter: many tabs do not retry in step
  }

  schedule(ms) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped && !this.socket) this.connect();
    }, ms);
  }

  startPolling() {
    this.setState("polling");
    if (this.pollTimer !== null) return;
    this.onRefresh();
    this.pollTimer = setInterval(async () => {
      try {
        await api("GET", "/api/v1/stats");
        if (this.pollTimer !== null) this.setState("polling");
      } catch {
        if (this.pollTimer !== null) this.setState("offline");
        return;
      }
      this.onRefresh();
    }, POLL_MS);
  }

  stopPolling() {
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }
}
