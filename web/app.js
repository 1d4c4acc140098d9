// The trading UI: market data over the WebSocket API (REST snapshots until a key is entered),
// and signed REST calls for balances, orders and cancels. docs/web.md describes it.
import * as decimal from "./decimal.js";
import { BookFollower } from "./book.js";
import { Signer, target } from "./signing.js";
import { CandleChart } from "./chart.js";
import { drawDepth } from "./depth.js";

const KEY_STORAGE = "trading.apiKey"; // sessionStorage only: gone when the tab closes
const BOOK_DEPTH = 15;
const TRADES_SHOWN = 50;
const POLL_MS = 3000;
const PING_MS = 240000;
const LIVE_STATUSES = new Set(["PENDING", "OPEN", "PARTIALLY_FILLED"]);
const OPEN_PAGE_SIZE = 100;
const OPEN_PAGES = 10; // at most 1000 open orders shown
const HISTORY_SHOWN = 50;
const TOAST_MS = 8000;
const TICKER_MS = 10000;
const TERMINAL = ["FILLED", "CANCELED", "REJECTED"];

const encoder = new TextEncoder();
const $ = (id) => document.getElementById(id);

const state = {
  wsBase: null,
  instruments: new Map(),
  symbol: null,
  signer: null,
  ws: null,
  wsRetry: 0,
  wsAttempt: 0,
  wsTimer: null,
  pingTimer: null,
  pollTimer: null,
  accountTimer: null,
  book: null,
  bookSource: "none",
  resyncs: 0,
  snapshots: 0, // book snapshots received over the WebSocket
  trades: [],
  tradeIds: new Set(),
  chart: null,
  tickerTimer: null,
  available: new Map(), // asset -> available balance (decimal string), for the size buttons
  depthFrame: 0,
};

// -- errors ----------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function showError(error, context) {
  const code = error.code || "ERROR";
  const box = $("error");
  box.dataset.code = code;
  $("error-code").textContent = code;
  $("error-message").textContent = (context ? context + ": " : "") + (error.message || String(error));
  box.hidden = false;
  notice("");
  toast(code, $("error-message").textContent);
}

// A toast per error, with the API's code; it goes after TOAST_MS or on its close button.
function toast(code, text) {
  const box = $("toasts");
  const item = document.createElement("div");
  item.className = "toast";
  item.setAttribute("role", "alert");
  item.dataset.code = code;
  const strong = document.createElement("strong");
  strong.textContent = code;
  const span = document.createElement("span");
  span.textContent = " " + text;
  const close = document.createElement("button");
  close.type = "button";
  close.setAttribute("aria-label", "dismiss");
  close.textContent = "\u00d7";
  close.addEventListener("click", () => item.remove());
  item.append(strong, span, close);
  box.appendChild(item);
  while (box.children.length > 4) {
    box.firstChild.remove();
  }
  setTimeout(() => item.remove(), TOAST_MS);
}

function clearError() {
  const box = $("error");
  box.hidden = true;
  delete box.dataset.code;
}

function notice(text) {
  $("notice").textContent = text;
}

// -- REST ------------------------------------------------------------------------------------------
async function api(method, path, { params, body, signed = false } = {}) {
  const tgt = target(path, params);
  const bytes = body === undefined ? null : encoder.encode(JSON.stringify(body));
  const headers = {};
  if (bytes !== null) {
    headers["Content-Type"] = "application/json";
  }
  if (signed) {
    if (state.signer === null) {
      throw new ApiError(0, "NO_API_KEY", "enter an API key first");
    }
    Object.assign(headers, await state.signer.headers(method, tgt, bytes));
  }
  let response;
  try {
    response = await fetch(tgt, { method, headers, body: bytes, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, "NETWORK_ERROR", String(error));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    // The API always answers {code, message}; API Gateway's own answers carry only {message}.
    const code = (data && data.code) || `HTTP_${response.status}`;
    const message = (data && data.message) || text || response.statusText;
    throw new ApiError(response.status, code, message);
  }
  return data;
}

// -- rendering helpers ------------------------------------------------------------------------------
function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) {
    td.className = className;
  }
  row.appendChild(td);
  return td;
}

function instrument() {
  return state.instruments.get(state.symbol) || null;
}

// -- order book -------------------------------------------------------------------------------------
function renderBook() {
  const book = state.book;
  const bids = book ? book.levels("BUY").slice(0, BOOK_DEPTH) : [];
  const asks = book ? book.levels("SELL").slice(0, BOOK_DEPTH) : [];
  // Depth bars: each row's bar is its cumulative quantity from the spread, as a share of the
  // larger side's total (a picture, so a float is fine here).
  const totals = (levels) => levels.reduce((sum, [, q]) => sum + Number(q), 0);
  const widest = Math.max(totals(bids), totals(asks)) || 1;
  const fill = (tbody, levels, side, fromSpread) => {
    tbody.replaceChildren();
    let running = 0;
    const depth = fromSpread.map(([, q]) => (running += Number(q)));
    const share = new Map(fromSpread.map(([p], i) => [p, depth[i] / widest]));
    for (const [price, quantity] of levels) {
      const row = document.createElement("tr");
      row.dataset.price = price;
      row.dataset.side = side;
      const pct = Math.round((share.get(price) || 0) * 1000) / 10;
      row.dataset.depth = String(pct);
      row.style.setProperty("--depth", `${pct}%`);
      cell(row, price, "price");
      cell(row, quantity, "quantity");
      tbody.appendChild(row);
    }
  };
  fill($("book-asks"), asks.slice().reverse(), "SELL", asks); // best ask next to the spread
  fill($("book-bids"), bids, "BUY", bids);
  const spread = bids.length && asks.length ? decimal.subtract(asks[0][0], bids[0][0]) : "-";
  $("ticker-spread").textContent = spread;
  if (!state.depthFrame) {
    state.depthFrame = requestAnimationFrame(() => {
      state.depthFrame = 0;
      drawDepth($("depth-chart"), bids, asks);
    });
  }
  const seq = book && book.seq !== null ? book.seq : "-";
  const source = $("book-source");
  source.dataset.source = state.bookSource;
  source.dataset.seq = String(seq);
  source.textContent =
    state.bookSource === "websocket"
      ? `live (WebSocket), seq ${seq}`
      : state.bookSource === "rest"
        ? `REST snapshot, seq ${seq} (enter an API key for live updates)`
        : "loading";
  $("book-resyncs").textContent = state.resyncs ? `${state.resyncs} resync(s) after a gap` : "";
}

function newBook() {
  if (state.book) {
    state.book.dispose();
  }
  state.book = new BookFollower(state.symbol, (follower) => {
    if (follower === state.book) {
      state.resyncs += 1;
      resubscribeBook(); // a gap that did not fill: a fresh snapshot
      renderBook();
    }
  });
}

// -- trades -----------------------------------------------------------------------------------------
function resetTrades() {
  state.trades = [];
  state.tradeIds = new Set();
  renderTrades();
}

function addTrade(trade) {
  if (state.tradeIds.has(trade.trade_id)) {
    return;
  }
  state.tradeIds.add(trade.trade_id);
  state.trades.push(trade);
  state.trades.sort((a, b) => b.seq - a.seq);
  state.trades.length = Math.min(state.trades.length, TRADES_SHOWN);
}

function renderTrades() {
  const tbody = $("trades");
  tbody.replaceChildren();
  for (const trade of state.trades) {
    const row = document.createElement("tr");
    row.dataset.tradeId = trade.trade_id;
    row.className = trade.taker_side === "BUY" ? "buy" : "sell";
    cell(row, trade.price, "price");
    cell(row, trade.quantity, "quantity");
    cell(row, trade.taker_side);
    cell(row, (trade.time || trade.executed_at || "").slice(11, 19)); // HH:MM:SS UTC
    tbody.appendChild(row);
  }
}

// -- REST market data (before a key is entered, or while the WebSocket is down) ----------------------
async function pollMarket() {
  const symbol = state.symbol;
  try {
    const [book, trades] = await Promise.all([
      api("GET", `/v1/book/${symbol}`, { params: { depth: BOOK_DEPTH } }),
      api("GET", `/v1/trades/${symbol}`, { params: { limit: TRADES_SHOWN } }),
    ]);
    if (symbol !== state.symbol || wsOpen()) {
      return; // the WebSocket follows the book now
    }
    newBook();
    state.book.snapshot({
      seq: book.seq,
      bids: book.bids.map((level) => [level.price, level.quantity]),
      asks: book.asks.map((level) => [level.price, level.quantity]),
    });
    state.bookSource = "rest";
    for (const trade of trades.trades) {
      addTrade(trade);
    }
    renderBook();
    renderTrades();
  } catch (error) {
    showError(error, "market data");
  }
}

function startPolling() {
  stopPolling();
  state.bookSource = state.bookSource === "websocket" ? "none" : state.bookSource;
  pollMarket();
  state.pollTimer = setInterval(pollMarket, POLL_MS);
}

function stopPolling() {
  if (state.pollTimer !== null) {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }
}

// -- WebSocket --------------------------------------------------------------------------------------
function wsOpen() {
  return state.ws !== null && state.ws.readyState === WebSocket.OPEN;
}

function send(message) {
  if (wsOpen()) {
    state.ws.send(JSON.stringify(message));
  }
}

function setWsStatus(text) {
  const status = $("ws-status");
  status.textContent = text;
  status.dataset.state = text;
}

function subscribeMarket(symbol) {
  newBook();
  send({ action: "subscribe", channel: `book:${symbol}`, id: `book:${symbol}` });
  send({ action: "subscribe", channel: `trades:${symbol}`, id: `trades:${symbol}` });
}

function unsubscribeMarket(symbol) {
  send({ action: "unsubscribe", channel: `book:${symbol}` });
  send({ action: "unsubscribe", channel: `trades:${symbol}` });
}

function resubscribeBook() {
  const channel = `book:${state.symbol}`;
  send({ action: "unsubscribe", channel });
  newBook();
  send({ action: "subscribe", channel, id: channel });
}

async function connectWs() {
  disconnectWs();
  if (state.signer === null) {
    return;
  }
  const signer = state.signer;
  const attempt = ++state.wsAttempt;
  const url = await signer.wsUrl(state.wsBase);
  if (signer !== state.signer || attempt !== state.wsAttempt) {
    return; // the key changed, or a newer connect started, while this one was being signed
  }
  const ws = new WebSocket(url);
  let opened = false;
  state.ws = ws;
  setWsStatus("connecting");
  ws.onopen = () => {
    opened = true;
    state.wsRetry = 0;
    stopPolling();
    setWsStatus("live");
    subscribeMarket(state.symbol);
    send({ action: "subscribe", channel: "orders", id: "orders" });
    state.pingTimer = setInterval(() => send({ action: "ping" }), PING_MS);
  };
  ws.onmessage = (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const message of Array.isArray(data) ? data : [data]) {
      onMessage(message);
    }
  };
  ws.onclose = (event) => {
    if (state.ws !== ws) {
      return;
    }
    state.ws = null;
    clearInterval(state.pingTimer);
    setWsStatus("disconnected");
    if (!opened && state.wsRetry === 0) {
      showError(new ApiError(0, "WEBSOCKET_REFUSED", "the WebSocket connect was refused (key, clock?)"));
    }
    if (state.bookSource === "websocket") {
      state.bookSource = "none";
    }
    startPolling();
    const delay = Math.min(30000, 1000 * 2 ** state.wsRetry);
    state.wsRetry += 1;
    state.wsTimer = setTimeout(connectWs, delay);
  };
}

function disconnectWs() {
  clearTimeout(state.wsTimer);
  clearInterval(state.pingTimer);
  const ws = state.ws;
  state.ws = null;
  if (ws) {
    ws.close();
  }
  setWsStatus(state.signer ? "disconnected" : "no API key");
}

function onMessage(message) {
  switch (message.type) {
    case "snapshot":
      if (message.channel === `book:${state.symbol}` && state.book) {
        stopPolling();
        state.snapshots += 1;
        state.bookSource = "websocket";
        state.book.snapshot(message);
        renderBook();
      }
      break;
    case "delta":
      if (message.channel === `book:${state.symbol}` && state.book) {
        state.book.delta(message); // buffered by the follower until its snapshot arrives
        renderBook();
      }
      break;
    case "trade":
      if (message.channel === `trades:${state.symbol}`) {
        addTrade(message);
        renderTrades();
        if (state.chart) {
          state.chart.onTrade(message);
        }
        $("ticker-last").textContent = message.price;
        clearTimeout(state.tickerTimer);
        state.tickerTimer = setTimeout(refreshTicker, 1500); // the 24 h figures come from settled trades
      }
      break;
    case "order":
      onOrderEvent(message);
      break;
    case "error":
      if (message.code === "SERVICE_UNAVAILABLE" && String(message.channel).startsWith("book:")) {
        setTimeout(resubscribeBook, 1000); // the book moved while its snapshot was read
      } else if (message.code === "UNAUTHENTICATED") {
        connectWs();
      } else {
        showError(message, `WebSocket ${message.channel || ""}`.trim());
      }
      break;
    default:
      break; // subscribed, unsubscribed, pong, ticker
  }
}

function onOrderEvent(message) {
  const log = $("order-events");
  const item = document.createElement("li");
  item.dataset.event = message.event;
  item.dataset.orderId = message.order_id;
  const detail =
    message.event === "fill"
      ? `${message.side} ${message.quantity} @ ${message.price} (${message.liquidity})`
      : message.event === "rejected"
        ? message.code
        : message.event === "canceled"
          ? `${message.reason}, filled ${message.filled_quantity}`
          : message.status || "";
  item.textContent = `${message.symbol} ${message.event} ${message.order_id.slice(0, 12)} ${detail}`;
  log.prepend(item);
  while (log.children.length > 30) {
    log.lastChild.remove();
  }
  if (message.event === "rejected") {
    showError({ code: message.code, message: `order ${message.order_id} was rejected by the matcher` });
  }
  scheduleAccountRefresh(150);
}

// -- account: key, balances, open orders ------------------------------------------------------------
async function useKey(keyId, secret) {
  if (!keyId || !secret) {
    showError(new ApiError(0, "NO_API_KEY", "enter both the key id and the secret"));
    return;
  }
  forgetKey();
  const signer = await Signer.create(keyId, secret);
  state.signer = signer;
  try {
    // One signed call proves the pair before it is kept (an unknown key or wrong secret is a 401).
    renderBalances((await api("GET", "/v1/balances", { signed: true })).balances);
    clearError();
  } catch (error) {
    if (error.status === 401) {
      state.signer = null;
      showError(error, "API key");
      return;
    }
    showError(error, "balances"); // e.g. FORBIDDEN: a trade-only key can still place orders
  }
  if (state.signer !== signer) {
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, JSON.stringify({ keyId, secret }));
  $("key-secret").value = "";
  $("key-id").value = keyId;
  $("key-status").textContent = `using ${keyId}`;
  document.body.dataset.key = "set";
  state.wsRetry = 0;
  connectWs();
  await refreshAccount();
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.signer = null;
  disconnectWs();
  $("key-status").textContent = "no key";
  delete document.body.dataset.key;
  $("balances").replaceChildren();
  $("open-orders").replaceChildren();
  $("order-events").replaceChildren();
  startPolling();
}

async function refreshAccount() {
  if (state.signer === null) {
    return;
  }
  try {
    const [balances, open, history, fills] = await Promise.all([
      api("GET", "/v1/balances", { signed: true }),
      openOrders(),
      orderHistory(),
      api("GET", "/v1/fills", { params: { limit: HISTORY_SHOWN }, signed: true }),
    ]);
    renderBalances(balances.balances);
    renderOrders(open.orders, open.more);
    renderHistory(history);
    renderFills(fills.fills);
  } catch (error) {
    showError(error, "account");
  }
}

// Every open order of the account: GET /v1/orders?open=true reads them from the server's index of
// live orders (PENDING/OPEN/PARTIALLY_FILLED), 100 a page, however many newer finished orders there
// are. At most OPEN_PAGES pages are read per refresh; beyond that the table says there are more.
async function openOrders() {
  const orders = [];
  let cursor = null;
  for (let page = 0; page < OPEN_PAGES; page += 1) {
    const params = { open: "true", limit: OPEN_PAGE_SIZE };
    if (cursor !== null) {
      params.cursor = cursor;
    }
    const answer = await api("GET", "/v1/orders", { params, signed: true });
    orders.push(...answer.orders.filter((order) => LIVE_STATUSES.has(order.status)));
    cursor = answer.next_cursor;
    if (!cursor) {
      return { orders, more: false };
    }
  }
  return { orders, more: true };
}

// The newest finished orders: one page per terminal status from the server's index, merged.
async function orderHistory() {
  const pages = await Promise.all(
    TERMINAL.map((status) =>
      api("GET", "/v1/orders", { params: { status, limit: HISTORY_SHOWN }, signed: true }),
    ),
  );
  const orders = pages.flatMap((page) => page.orders);
  orders.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  return orders.slice(0, HISTORY_SHOWN);
}

function renderHistory(orders) {
  const tbody = $("order-history");
  tbody.replaceChildren();
  for (const order of orders) {
    const row = document.createElement("tr");
    row.dataset.orderId = order.order_id;
    row.dataset.status = order.status;
    cell(row, order.symbol);
    cell(row, order.side, order.side === "BUY" ? "buy" : "sell");
    cell(row, order.type);
    cell(row, order.price || "market", "price");
    cell(row, order.quantity || "", "quantity");
    cell(row, order.filled_quantity, "filled");
    cell(row, order.status, "status");
    cell(row, order.created_at.slice(0, 19).replace("T", " "));
    tbody.appendChild(row);
  }
}

function renderFills(fills) {
  const tbody = $("fills");
  tbody.replaceChildren();
  for (const fill of fills) {
    const row = document.createElement("tr");
    row.dataset.tradeId = fill.trade_id;
    row.dataset.orderId = fill.order_id;
    cell(row, fill.symbol);
    cell(row, fill.side, fill.side === "BUY" ? "buy" : "sell");
    cell(row, fill.price, "price");
    cell(row, fill.quantity, "quantity");
    cell(row, `${fill.fee} ${fill.fee_asset}`, "fee");
    cell(row, fill.liquidity, "liquidity");
    cell(row, fill.executed_at.slice(11, 19));
    tbody.appendChild(row);
  }
}

// -- tabs (arrow keys move between them, as WAI-ARIA tabs do) -----------------------------------------
function selectTab(tab) {
  for (const other of document.querySelectorAll('#order-tabs [role="tab"]')) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  tab.focus();
}

function setupTabs() {
  const tabs = [...document.querySelectorAll('#order-tabs [role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (step) {
        event.preventDefault();
        selectTab(tabs[(i + step + tabs.length) % tabs.length]);
      }
    });
  });
}

async function cancelAll() {
  if (state.signer === null) {
    showError(new ApiError(0, "NO_API_KEY", "enter an API key first"));
    return;
  }
  try {
    const answer = await api("DELETE", "/v1/orders", { params: { symbol: state.symbol }, signed: true });
    clearError();
    notice(`cancel requested for ${answer.order_ids.length} order(s) on ${answer.symbol}`);
  } catch (error) {
    showError(error, "cancel all");
  }
  scheduleAccountRefresh(300);
}

// -- chart and ticker ---------------------------------------------------------------------------------
function loadChart(interval) {
  if (!state.chart) {
    return;
  }
  state.chart.load(state.symbol, interval).catch((error) => showError(error, "candles"));
  for (const button of document.querySelectorAll("#chart-intervals button")) {
    button.setAttribute("aria-pressed", String(button.dataset.interval === state.chart.interval));
  }
}

async function refreshTicker() {
  const symbol = state.symbol;
  if (!symbol) {
    return;
  }
  try {
    const ticker = await api("GET", `/v1/ticker/${symbol}`);
    if (symbol !== state.symbol) {
      return;
    }
    $("ticker-last").textContent = ticker.last ?? "-";
    const change = $("ticker-change");
    change.textContent = ticker.change ?? "-";
    change.dataset.direction = ticker.change && ticker.change.startsWith("-") ? "down" : "up";
    $("ticker-high").textContent = ticker.high ?? "-";
    $("ticker-low").textContent = ticker.low ?? "-";
    $("ticker-volume").textContent = ticker.volume ?? "-";
  } catch (error) {
    showError(error, "ticker");
  }
}

function scheduleAccountRefresh(delayMs) {
  clearTimeout(state.accountTimer);
  state.accountTimer = setTimeout(refreshAccount, delayMs);
}

function renderBalances(balances) {
  const tbody = $("balances");
  tbody.replaceChildren();
  state.available = new Map(balances.map((b) => [b.asset, b.available]));
  for (const balance of balances) {
    const row = document.createElement("tr");
    row.dataset.asset = balance.asset;
    cell(row, balance.asset, "asset");
    cell(row, balance.available, "available");
    cell(row, balance.held, "held");
    cell(row, balance.total, "total");
    tbody.appendChild(row);
  }
}

function renderOrders(orders, more = false) {
  const tbody = $("open-orders");
  if (tbody.querySelector("form.amend-form")) {
    return; // an amend is being typed: the next refresh after it redraws the table
  }
  tbody.replaceChildren();
  for (const order of orders) {
    const row = document.createElement("tr");
    row.dataset.orderId = order.order_id;
    row.dataset.status = order.status;
    cell(row, order.symbol);
    cell(row, order.side, order.side === "BUY" ? "buy" : "sell");
    cell(row, order.type);
    cell(row, order.price || "market", "price");
    cell(row, order.quantity, "quantity");
    cell(row, order.filled_quantity, "filled");
    cell(row, order.status, "status");
    const actions = cell(row, "");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "cancel";
    button.textContent = "Cancel";
    button.addEventListener("click", () => cancelOrder(order.order_id, button));
    actions.appendChild(button);
    if (order.type === "LIMIT") {
      const amend = document.createElement("button");
      amend.type = "button";
      amend.className = "amend";
      amend.textContent = "Amend";
      amend.addEventListener("click", () => openAmend(row, order));
      actions.appendChild(amend);
    }
    tbody.appendChild(row);
  }
  $("open-orders-empty").hidden = orders.length > 0;
  $("open-orders-more").hidden = !more;
}

// Inline amend: price and open quantity in the row, Save -> PATCH /v1/orders/{id}; the matcher
// confirms with an `amended` event on the orders channel (the table then refreshes).
function openAmend(row, order) {
  if (row.querySelector("form.amend-form")) {
    return;
  }
  const form = document.createElement("form");
  form.className = "amend-form";
  const price = document.createElement("input");
  price.className = "amend-price";
  price.value = order.price;
  price.setAttribute("aria-label", "new price");
  price.inputMode = "decimal";
  const quantity = document.createElement("input");
  quantity.className = "amend-quantity";
  quantity.value = order.quantity;
  quantity.setAttribute("aria-label", "new quantity");
  quantity.inputMode = "decimal";
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = "Save";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "Close";
  cancel.addEventListener("click", () => form.remove());
  form.append(price, quantity, save, cancel);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    if (price.value.trim() !== order.price) {
      body.price = price.value.trim();
    }
    if (quantity.value.trim() !== order.quantity) {
      body.quantity = quantity.value.trim();
    }
    save.disabled = true;
    try {
      const answer = await api("PATCH", `/v1/orders/${order.order_id}`, { body, signed: true });
      clearError();
      notice(`amend requested for ${answer.order_id}`);
      form.remove();
    } catch (error) {
      showError(error, "amend");
      save.disabled = false;
    }
    scheduleAccountRefresh(300);
  });
  row.lastChild.appendChild(form);
  price.focus();
}

async function cancelOrder(orderId, button) {
  button.disabled = true;
  try {
    const answer = await api("DELETE", `/v1/orders/${orderId}`, { signed: true });
    clearError();
    notice(`cancel requested for ${answer.order_id}`);
  } catch (error) {
    showError(error, "cancel");
    button.disabled = false;
  }
  scheduleAccountRefresh(300);
}

// -- order form -------------------------------------------------------------------------------------
function orderFromForm() {
  const type = $("order-type").value;
  const side = $("order-side").value;
  const order = { symbol: state.symbol, side, type };
  const text = (id) => $(id).value.trim();
  if (type === "LIMIT") {
    if (text("order-price")) {
      order.price = text("order-price"); // the exact text the user typed: the API checks the grid
    }
    if (text("order-quantity")) {
      order.quantity = text("order-quantity");
    }
    order.post_only = $("order-post-only").checked;
  } else {
    if (text("order-quantity")) {
      order.quantity = text("order-quantity");
    }
    if (side === "BUY" && text("order-quote")) {
      order.quote_amount = text("order-quote");
    }
  }
  order.time_in_force = $("order-tif").value;
  order.client_order_id = "web-" + crypto.randomUUID().replaceAll("-", "").slice(0, 20);
  return order;
}

async function submitOrder(event) {
  event.preventDefault();
  const button = $("order-submit");
  button.disabled = true;
  try {
    const order = await api("POST", "/v1/orders", { body: orderFromForm(), signed: true });
    clearError();
    notice(`order ${order.order_id} accepted for matching (${order.status})`);
    $("order-form").dataset.lastOrderId = order.order_id;
  } catch (error) {
    showError(error, "order");
  } finally {
    button.disabled = false;
  }
  scheduleAccountRefresh(100);
}

function updateForm() {
  const type = $("order-type").value;
  const side = $("order-side").value;
  const market = type === "MARKET";
  $("order-price").disabled = market;
  $("order-post-only").disabled = market;
  $("order-quote").disabled = !(market && side === "BUY");
  const spec = instrument();
  if (spec) {
    $("order-price-unit").textContent = `${spec.quote_asset}, tick ${spec.tick_size}`;
    $("order-quantity-unit").textContent = `${spec.base_asset}, lot ${spec.lot_size}`;
    $("order-quote-unit").textContent = spec.quote_asset;
  }
  $("order-value").textContent = costPreview(spec, side, market);
}

// The cost of a limit order as the exchange holds it: value + taker fee (rounded up to the quote
// atom) for a buy, value - fee for a sell; exact decimal strings.
function costPreview(spec, side, market) {
  if (!spec || market) {
    return "";
  }
  const value = decimal.multiply($("order-price").value, $("order-quantity").value);
  if (value === null) {
    return "";
  }
  const scale = quoteDecimals(spec);
  const fee = decimal.feeUp(value, spec.taker_fee_bps, scale);
  const quote = spec.quote_asset;
  if (side === "BUY") {
    return `value ${value} ${quote} + fee up to ${fee} = ${decimal.add(value, fee)} ${quote}`;
  }
  return `value ${value} ${quote} - fee up to ${fee} = ${decimal.subtract(value, fee)} ${quote}`;
}

function quoteDecimals(spec) {
  const text = String(spec.min_notional || "0.000001");
  return text.includes(".") ? text.split(".")[1].length : 0;
}

// 25/50/75/100 % of the available balance: the base for a sell, the quote (fee included, at the
// form's price) for a buy; always on the lot grid, never more than the balance covers.
function sizeByShare(share) {
  const spec = instrument();
  if (!spec) {
    return;
  }
  const side = $("order-side").value;
  const asset = side === "SELL" ? spec.base_asset : spec.quote_asset;
  const available = state.available.get(asset);
  if (available === undefined) {
    showError(new ApiError(0, "NO_BALANCE", `no ${asset} balance known: enter an API key`));
    return;
  }
  const price = $("order-price").value.trim();
  if (side === "BUY" && !price) {
    showError(new ApiError(0, "PRICE_REQUIRED", "enter a price first: the size is what the budget buys there"));
    return;
  }
  const quantity =
    side === "SELL"
      ? decimal.sizeFor(available, share, spec.lot_size)
      : decimal.sizeFor(available, share, spec.lot_size, { price, bps: spec.taker_fee_bps });
  if (quantity !== null) {
    $("order-quantity").value = quantity;
    updateForm();
  }
}

// -- symbol -----------------------------------------------------------------------------------------
function selectSymbol(symbol) {
  const previous = state.symbol;
  if (previous === symbol) {
    return;
  }
  state.symbol = symbol;
  $("symbol-title").textContent = symbol;
  resetTrades();
  loadChart();
  refreshTicker();
  if (wsOpen()) {
    if (previous) {
      unsubscribeMarket(previous);
    }
    state.bookSource = "none";
    subscribeMarket(symbol);
    api("GET", `/v1/trades/${symbol}`, { params: { limit: TRADES_SHOWN } })
      .then((answer) => {
        if (symbol === state.symbol) {
          answer.trades.forEach(addTrade);
          renderTrades();
        }
      })
      .catch((error) => showError(error, "trades"));
  } else {
    state.bookSource = "none";
    newBook();
    startPolling();
  }
  renderBook();
  updateForm();
}

async function loadConfig() {
  const fromQuery = new URLSearchParams(location.search).get("ws");
  if (fromQuery) {
    return fromQuery;
  }
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (response.ok) {
      const config = await response.json();
      if (config.ws_url) {
        return config.ws_url;
      }
    }
  } catch {
    // no config.json (CloudFront): the WebSocket API is at /ws on this origin
  }
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

async function main() {
  state.wsBase = await loadConfig();
  $("ws-url").textContent = state.wsBase;
  $("order-form").addEventListener("submit", submitOrder);
  for (const id of ["order-type", "order-side", "order-price", "order-quantity"]) {
    $(id).addEventListener("input", updateForm);
  }
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useKey($("key-id").value.trim(), $("key-secret").value);
  });
  $("key-forget").addEventListener("click", forgetKey);
  $("account-refresh").addEventListener("click", refreshAccount);
  $("error-close").addEventListener("click", clearError);
  $("symbol").addEventListener("change", (event) => selectSymbol(event.target.value));
  $("cancel-all").addEventListener("click", cancelAll);
  for (const button of document.querySelectorAll("#size-shares button")) {
    button.addEventListener("click", () => sizeByShare(Number(button.dataset.share)));
  }
  setupTabs();
  state.chart = new CandleChart($("chart"), api);
  for (const button of document.querySelectorAll("#chart-intervals button")) {
    button.addEventListener("click", () => loadChart(button.dataset.interval));
  }
  setInterval(refreshTicker, TICKER_MS);
  try {
    const answer = await api("GET", "/v1/instruments");
    for (const spec of answer.instruments) {
      state.instruments.set(spec.symbol, spec);
      const option = document.createElement("option");
      option.value = spec.symbol;
      option.textContent = spec.symbol + (spec.status === "TRADING" ? "" : ` (${spec.status})`);
      $("symbol").appendChild(option);
    }
  } catch (error) {
    showError(error, "instruments");
  }
  const wanted = new URLSearchParams(location.search).get("symbol");
  const first = state.instruments.has(wanted) ? wanted : state.instruments.keys().next().value;
  setWsStatus("no API key");
  if (first) {
    $("symbol").value = first;
    selectSymbol(first);
  }
  const stored = sessionStorage.getItem(KEY_STORAGE);
  if (stored) {
    try {
      const { keyId, secret } = JSON.parse(stored);
      await useKey(keyId, secret);
    } catch {
      sessionStorage.removeItem(KEY_STORAGE);
    }
  }
  setInterval(() => scheduleAccountRefresh(0), 10000);
  document.body.dataset.ready = "true";
}

// For the browser console and the e2e tests: the state and the WebSocket message handler.
window.tradingUi = { state, onMessage };

main();
