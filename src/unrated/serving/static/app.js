// The unrated web page: look up a customer, or build a basket, and show recommendations.
// Plain JavaScript, no build step; every text goes through textContent (never innerHTML).
"use strict";

const $ = (id) => document.getElementById(id);
const basket = [];  // [{item, name}]
let itemNames = new Map();  // item id (as text) -> name, from searches

// Header values are bytes: the server compares them with the key's UTF-8 bytes, so send those
// (one character per byte, which fetch writes as that byte).
function utf8Bytes(text) {
  return Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join("");
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  const key = sessionStorage.getItem("unrated-api-key");
  if (key) headers["X-API-Key"] = utf8Bytes(key);
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  const data = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
  return data;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function label(ref) {
  return ref.unknown ? `${ref.item} (unknown)` : ref.name || String(ref.item);
}

function itemLine(ref, extra) {
  const li = el("li");
  li.dataset.item = String(ref.item);
  const main = el("span");
  main.append(el("span", "name", label(ref)));
  if (ref.name) main.append(" ", el("span", "id", String(ref.item)));
  if (ref.new) main.append(" ", el("span", "new", "new"));
  li.append(main);
  if (extra) li.append(extra);
  return li;
}

function scoredLine(rec, otherwise) {
  const li = itemLine(rec, el("span", "score", rec.score.toFixed(3)));
  if (rec.because && rec.because.length) {
    const why = el("span", "because", "because you bought ");
    rec.because.forEach((ref, i) => {
      if (i) why.append(i === rec.because.length - 1 ? " and " : ", ");
      why.append(el("b", null, label(ref)));
    });
    li.append(why);
  } else if (otherwise) {
    li.append(el("span", "because", otherwise));
  }
  return li;
}

// How much the customer bought an item: its training weight (a count, or units).
function times(weight) {
  return Number.isInteger(weight) ? `${weight} time${weight === 1 ? "" : "s"}` : weight.toFixed(2);
}

// "Buy again": what the customer bought, with how often. Ranked by the model when it is made
// for re-buys (include_seen), else by the customer's own frequency (their history's order).
function rebuyLine(ref, ranked) {
  const li = itemLine(ref, el("span", "score", ranked ? ref.score.toFixed(3) : ""));
  const weight = ranked ? ref.bought : ref.weight;
  li.append(el("span", "because", `you bought it ${times(weight)}`));
  return li;
}

function say(id, text, isError = false) {
  $(id).textContent = text;
  $(id).classList.toggle("error", isError);
}

async function showUser(user) {
  const k = Number($("user-k").value);
  // A new lookup clears every section first: nothing of the last customer stays on screen.
  $("history-title").textContent = "Bought";
  for (const id of ["history", "rebuy", "recs"]) $(id).replaceChildren();
  say("user-message", "…");
  try {
    const q = encodeURIComponent(user);
    const filter = $("user-filter").value;
    const where = filter ? `&where=${encodeURIComponent(filter)}` : "";
    const [history, recs, rebuys] = await Promise.all([
      api(`/users/${q}?limit=50`),
      api(`/recommend?user=${q}&k=${k}&explain=true${where}`),
      window.ranksRebuys ? api(`/recommend?user=${q}&k=${k}&include_seen=true${where}`) : null,
    ]);
    $("history-title").textContent = `Bought (${history.n_items})`;
    $("history").replaceChildren(
      ...history.items.map((ref) =>
        itemLine(ref, el("span", "weight", ref.weight === 1 ? "" : `${ref.weight} times`))
      )
    );
    const again = rebuys
      ? rebuys.items.filter((ref) => ref.bought !== null).map((ref) => rebuyLine(ref, true))
      : history.items.slice(0, k).map((ref) => rebuyLine(ref, false));
    $("rebuy").replaceChildren(...again);
    $("rebuy-title").textContent = rebuys ? "Buy again" : "Buy again (most bought first)";
    const otherwise = window.modelKey === "popular" ? "a bestseller" : "customers like you buy it";
    $("recs").replaceChildren(...recs.items.map((rec) => scoredLine(rec, otherwise)));
    say("user-message", recs.fallback ? "unknown customer: the most popular items" : "");
  } catch (error) {
    say("user-message", error.message, true);
  }
}

function renderBasket() {
  $("basket").replaceChildren(
    ...basket.map((ref, i) => {
      const li = el("li", null, label(ref));
      li.dataset.item = String(ref.item);
      const remove = el("button", null, "×");
      remove.type = "button";
      remove.title = "remove";
      remove.addEventListener("click", () => {
        basket.splice(i, 1);
        renderBasket();
      });
      li.append(remove);
      return li;
    })
  );
}

// What the visitor typed, as an item: "name — id" (from the list), an id, or an exact name
// (case-insensitive). Returns {item, name}, {item, unknown: true} when nothing matches, or
// {problem} when several items have that name.
async function resolveItem(text) {
  if (text.includes(" — ")) {
    const id = text.split(" — ").pop();
    return { item: id, name: itemNames.get(id) || null };
  }
  try {
    const known = await api(`/items/${encodeURIComponent(text)}`);
    return { item: known.item, name: known.name };
  } catch (error) {
    // not an id: a name?
  }
  const wanted = text.toLowerCase();
  let named = [];
  try {
    const found = await api(`/items?q=${encodeURIComponent(text.slice(0, 200))}&limit=100`);
    named = found.items.filter((ref) => ref.name && ref.name.toLowerCase() === wanted);
  } catch (error) {
    // no search possible: unknown
  }
  if (named.length === 1) return named[0];
  if (named.length > 1) {
    showOptions(named);
    return { problem: `${named.length} products are called “${text}”: pick one from the list` };
  }
  return { item: text, name: null, unknown: true };
}

async function addToBasket(text) {
  const whole = text.trim();
  // One item (names may hold commas), else a list of ids or names separated by commas.
  const first = whole ? await resolveItem(whole) : null;
  const parts =
    first && first.unknown && whole.includes(",")
      ? whole.split(",").map((s) => s.trim()).filter(Boolean)
      : [];
  const found = parts.length ? await Promise.all(parts.map(resolveItem)) : first ? [first] : [];
  const problems = [];
  for (const ref of found) {
    if (ref.problem) problems.push(ref.problem);
    else if (!basket.some((known) => String(known.item) === String(ref.item))) basket.push(ref);
  }
  renderBasket();
  say("basket-message", problems.join("; "), problems.length > 0);
}

async function recommendBasket() {
  $("basket-recs").replaceChildren();
  if (!basket.length) {
    say("basket-message", "the basket is empty: add a product first", true);
    return;
  }
  say("basket-message", "…");
  try {
    // A basket with no known item gets the most popular items, flagged (the API's fallback).
    const body = JSON.stringify({ items: basket.map((ref) => ref.item), k: 10, fallback: true });
    const result = await api("/recommend/history", { method: "POST", body });
    $("basket-recs").replaceChildren(...result.items.map((rec) => scoredLine(rec)));
    const notes = [];
    if (result.n_unknown_items) notes.push(`${result.n_unknown_items} unknown item(s) ignored`);
    if (result.fallback) notes.push("no known item: the most popular items");
    say("basket-message", notes.join("; "));
  } catch (error) {
    say("basket-message", error.message, true);
  }
}

// The basket box's suggestions: "name — id" for named items, else the id.
function showOptions(refs) {
  for (const ref of refs) if (ref.name) itemNames.set(String(ref.item), ref.name);
  $("item-options").replaceChildren(
    ...refs.map((ref) => {
      const option = el("option");
      option.value = ref.name ? `${ref.name} — ${ref.item}` : String(ref.item);
      return option;
    })
  );
}

let searchTimer = null;
function suggestItems() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const q = $("basket-input").value.trim();
    if (!q || q.includes(" — ")) return;
    try {
      const found = await api(`/items?q=${encodeURIComponent(q.slice(0, 200))}&limit=15`);
      showOptions(found.items);
    } catch (error) {
      say("basket-message", error.message, true);
    }
  }, 150);
}

async function start() {
  const key = $("api-key");
  key.value = sessionStorage.getItem("unrated-api-key") || "";
  key.addEventListener("change", () => {
    sessionStorage.setItem("unrated-api-key", key.value);
    start();
  });
  try {
    const health = await api("/health");
    $("model-info").textContent =
      `model ${health.model} · ${health.users.toLocaleString()} customers · ` +
      `${health.items.toLocaleString()} items` + (health.ann ? " · approximate search" : "");
    $("key-box").classList.toggle("hidden", !health.api_key_required);
    window.unratedUsers = health.users;
    window.ranksRebuys = health.ranks_rebuys;
    window.modelKey = health.model;
    // Item attributes with few values (a category, a shelf) become a filter: "only items where".
    const choices = Object.entries(health.item_filters || {}).flatMap(([column, values]) =>
      values.map((value) => {
        const option = el("option", "", `${column}: ${value}`);
        option.value = `${column}=${value}`;
        return option;
      })
    );
    const allItems = el("option", "", "all items");
    allItems.value = "";
    $("user-filter").replaceChildren(allItems, ...choices);
    $("user-filter").classList.toggle("hidden", choices.length === 0);
    const users = await api("/users?limit=50");
    $("user-options").replaceChildren(
      ...users.users.map((user) => {
        const option = el("option");
        option.value = String(user);
        return option;
      })
    );
  } catch (error) {
    say("user-message", error.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("user-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showUser($("user-input").value.trim());
  });
  $("random-user").addEventListener("click", async () => {
    const offset = Math.floor(Math.random() * (window.unratedUsers || 1));
    try {
      const page = await api(`/users?offset=${offset}&limit=1`);
      $("user-input").value = String(page.users[0]);
      showUser($("user-input").value);
    } catch (error) {
      say("user-message", error.message, true);
    }
  });
  $("basket-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addToBasket($("basket-input").value);
    $("basket-input").value = "";
  });
  $("basket-input").addEventListener("input", suggestItems);
  $("basket-recommend").addEventListener("click", async () => {
    const typed = $("basket-input").value;
    $("basket-input").value = "";
    if (typed.trim()) await addToBasket(typed);
    recommendBasket();
  });
  $("basket-clear").addEventListener("click", () => {
    basket.length = 0;
    renderBasket();
    $("basket-recs").replaceChildren();
    say("basket-message", "");
  });
  start();
});
