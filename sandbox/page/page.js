// The sandbox page: asks the sandbox for its state a few times a second and draws it; every act
// goes to /sandbox/<act>. Slack's Block Kit is drawn from the blocks the bridge really sent; a
// block this page cannot draw is shown as its JSON, never dropped.
"use strict";

const EMOJI = {
  speech_balloon: "💬", white_check_mark: "✅", bust_in_silhouette: "👤", headphones: "🎧",
  robot_face: "🤖", hourglass: "⌛", hourglass_flowing_sand: "⏳", warning: "⚠️",
  rotating_light: "🚨", raised_hand: "✋", zzz: "💤", crescent_moon: "🌙", inbox_tray: "📥",
  leftwards_arrow_with_hook: "↩️", arrows_counterclockwise: "🔄", lock: "🔒", memo: "📝",
  paperclip: "📎", incoming_envelope: "📨", pencil2: "✏️", wastebasket: "🗑️",
  small_red_triangle_down: "🔻", large_green_circle: "🟢", white_circle: "⚪", red_circle: "🔴",
  no_entry: "⛔", x: "❌", truck: "🚚", bar_chart: "📊", tada: "🎉", wave: "👋",
  thumbsup: "👍", "+1": "👍", eyes: "👀", mag: "🔎", busts_in_silhouette: "👥",
};
const DONE = "white_check_mark";

let me = localStorage.getItem("acting") || "U0SANDBOX1";
let visitor = null; // the visitor written as (their id); null: a new one
let tab = "channel";
let editing = null; // ts of the reply being edited
let last = "";
let state = null;
const buttons = []; // [button, where] of each Block Kit button ever drawn, by data-btn
const buttonIds = new Map(); // the same button in the same place keeps its number
let modalErrors = {};
const drafts = {}; // what was typed, by data-key, kept across redraws

const $ = (selector) => document.querySelector(selector);

function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
function unslack(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
function emoji(name) {
  const bare = String(name || "").replace(/:/g, "");
  return EMOJI[bare] || (bare ? `:${esc(bare)}:` : "");
}
function personName(id) {
  const found = state && state.team.find((p) => p.id === id);
  return found ? found.name : id;
}

// mrkdwn as Slack draws it: *bold*, _italic_, ~strike~, `code`, ```pre```, <links>, emoji
function mrkdwn(text) {
  const out = [];
  const tokens = /<([^<>]+)>/g;
  let at = 0;
  let found;
  while ((found = tokens.exec(text))) {
    out.push(inline(text.slice(at, found.index)), token(found[1]));
    at = tokens.lastIndex;
  }
  out.push(inline(text.slice(at)));
  return out.join("");
}
function token(inside) {
  const bar = inside.indexOf("|");
  const target = bar < 0 ? inside : inside.slice(0, bar);
  const label = bar < 0 ? "" : inside.slice(bar + 1);
  if (target.startsWith("@")) return `<span class="mention">@${esc(personName(target.slice(1)))}</span>`;
  if (target.startsWith("#")) return `<span class="mention">#${esc(label || target.slice(1))}</span>`;
  if (target.startsWith("!date^")) {
    const seconds = Number(target.split("^")[1]);
    return esc(Number.isFinite(seconds) ? new Date(seconds * 1000).toLocaleString() : unslack(label));
  }
  if (target.startsWith("!")) return `<span class="mention">@${esc(label || target.slice(1))}</span>`;
  if (/^(https?:|mailto:)/.test(target)) {
    const href = esc(unslack(target));
    return `<a href="${href}" target="_blank" rel="noopener noreferrer">${inline(label || target)}</a>`;
  }
  return esc(unslack("<" + inside + ">"));
}
function inline(text) {
  let html = esc(unslack(text));
  const edge = "(^|[\\s(])";
  const end = "(?=$|[\\s.,!?;:)])";
  html = html.replace(/```([\s\S]+?)```/g, (_, code) => `<pre>${code}</pre>`);
  html = html.replace(/`([^`\n]+)`/g, (_, code) => `<code>${code}</code>`);
  html = html.replace(new RegExp(edge + "\\*([^*\\n]+)\\*" + end, "g"), "$1<b>$2</b>");
  html = html.replace(new RegExp(edge + "_([^_\\n]+)_" + end, "g"), "$1<i>$2</i>");
  html = html.replace(new RegExp(edge + "~([^~\\n]+)~" + end, "g"), "$1<s>$2</s>");
  html = html.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
  return html.replace(/\n/g, "<br>");
}
function textObject(object) {
  if (!object) return "";
  return object.type === "mrkdwn" ? mrkdwn(object.text || "") : inline(object.text || "");
}
function json(block) {
  return `<pre class="json" title="Block Kit this page does not draw">${esc(JSON.stringify(block, null, 1))}</pre>`;
}

// Block Kit
function blocks(list, where) {
  return (list || []).map((block) => blockHtml(block, where)).join("");
}
function blockHtml(block, where) {
  switch (block.type) {
    case "header":
      return `<h3 class="header">${esc(block.text && block.text.text)}</h3>`;
    case "divider":
      return "<hr>";
    case "section": {
      const fields = (block.fields || []).map((f) => `<div class="field">${textObject(f)}</div>`);
      const side = block.accessory ? element(block.accessory, where) : "";
      return `<div class="section"><div>${textObject(block.text)}</div>` +
        (fields.length ? `<div class="fields">${fields.join("")}</div>` : "") + side + "</div>";
    }
    case "context":
      return `<div class="context">${(block.elements || []).map((e) =>
        e.type === "image" ? `<img class="tiny" src="${esc(e.image_url)}" alt="${esc(e.alt_text)}">` : textObject(e)
      ).join(" ")}</div>`;
    case "image":
      return `<figure><img src="${esc(block.image_url)}" alt="${esc(block.alt_text || "")}">` +
        (block.title ? `<figcaption>${esc(block.title.text)}</figcaption>` : "") + "</figure>";
    case "actions":
      return `<div class="actions">${(block.elements || []).map((e) => element(e, where)).join("")}</div>`;
    case "input": {
      const field = block.element || {};
      if (field.type !== "plain_text_input") return json(block);
      const key = `modal-${block.block_id}`;
      const value = key in drafts ? drafts[key] : field.initial_value || "";
      const error = modalErrors[block.block_id] ? `<span class="error">${esc(modalErrors[block.block_id])}</span>` : "";
      const box = field.multiline
        ? `<textarea data-key="${key}" data-block="${esc(block.block_id)}" rows="3">${esc(value)}</textarea>`
        : `<input data-key="${key}" data-block="${esc(block.block_id)}" value="${esc(value)}">`;
      return `<label class="input">${esc(block.label && block.label.text)} ${box}</label>${error}`;
    }
    default:
      return json(block);
  }
}
function element(item, where) {
  if (item.type === "button") {
    const key = JSON.stringify([item, where]);
    if (!buttonIds.has(key)) {
      buttonIds.set(key, buttons.length);
      buttons.push([item, where]);
    }
    const style = item.style ? ` ${item.style}` : "";
    return `<button type="button" class="block-button${style}" data-btn="${buttonIds.get(key)}">${esc(item.text && item.text.text)}</button>`;
  }
  if (item.type === "image") return `<img class="side" src="${esc(item.image_url)}" alt="${esc(item.alt_text)}">`;
  return json(item);
}

// The support channel
function when(ts) {
  return new Date(Number(ts) * 1000).toLocaleTimeString();
}
function message(post, where) {
  const body = post.blocks && post.blocks.length ? blocks(post.blocks, where) : mrkdwn(post.text || "");
  const reactions = Object.entries(post.reactions || {}).map(([name, users]) =>
    `<span class="reaction" title="${esc(users.map(personName).join(", "))}">${emoji(name)} ${users.length}</span>`
  ).join("");
  const author = post.user ? personName(post.user) : post.author || "Chatra";
  return `<div class="meta"><span class="icon">${emoji(post.icon) || (post.user ? "🧑" : "🤖")}</span>` +
    `<b>${esc(author)}</b> <span class="time">${when(post.ts)}</span>${post.edited ? ' <span class="time">(edited)</span>' : ""}</div>` +
    `<div class="body">${body}</div>${reactions ? `<div class="reactions">${reactions}</div>` : ""}`;
}
function onlyYou(told) {
  const body = told.answered || !told.blocks ? mrkdwn(told.text) : blocks(told.blocks, { ephemeral: told.index });
  return `<div class="ephemeral" role="note" aria-label="Only visible to you"><div class="meta">🤖 <b>Chatra</b> <span class="time">Only visible to you</span></div>${body}</div>`;
}
function reply(post) {
  const mine = post.user === me;
  if (editing === post.ts) {
    const key = `edit-${post.ts}`;
    const value = key in drafts ? drafts[key] : unslack(post.text.replace(/<@(\w+)>/g, (_, id) => "@" + personName(id)));
    return `<div class="reply" role="group" aria-label="Reply by ${esc(personName(post.user))}">` +
      `<label>Edit reply <textarea data-key="${key}" rows="2">${esc(value)}</textarea></label>` +
      `<button type="button" data-save-edit="${post.ts}">Save edit</button> <button type="button" data-cancel-edit>Cancel</button></div>`;
  }
  const tools = mine ? `<div class="tools"><button type="button" data-edit="${post.ts}">Edit</button> <button type="button" data-delete="${post.ts}">Delete</button></div>` : "";
  const label = post.user ? `Reply by ${personName(post.user)}` : `Message from ${post.author || "Chatra"}`;
  return `<div class="reply" role="group" aria-label="${esc(label)}">${message(post, { ts: post.ts })}${tools}</div>`;
}
function article(post) {
  const name = post.card || `Message from ${post.author || "Chatra"}`;
  const marked = (post.reactions[DONE] || []).includes(me);
  const react = post.card ? `<button type="button" data-react="${post.ts}" data-on="${!marked}">${marked ? "Remove ✅" : "Add ✅"}</button>` : "";
  const replies = post.replies.map(reply).join("") + post.only_you.map(onlyYou).join("");
  const key = `reply-${post.ts}`;
  const box = post.card
    ? `<form class="reply-form" data-thread="${post.ts}"><label>Reply in thread <textarea data-key="${key}" rows="2">${esc(drafts[key] || "")}</textarea></label><button type="submit">Send reply</button></form>`
    : "";
  const thread = replies || box ? `<div class="thread">${replies}${box}</div>` : "";
  return `<article class="post${post.card ? " card" : ""}" aria-label="${esc(name)}">${message(post, { ts: post.ts })}<div class="tools">${react}</div>${thread}</article>`;
}

// The website's chat widget
function widget(seen) {
  const online = seen.agents_online.length > 0;
  $("#widget-status").textContent = online ? "● online" : "○ offline: visitors are asked for an email";
  $("#widget-status").className = "status " + (online ? "on" : "off");
  const names = seen.names || {};
  setHtml($("#visitors"), Object.entries(names).map(([id, name]) =>
    `<button type="button" data-visitor="${esc(id)}" aria-pressed="${id === visitor}">${esc(name)}</button>`
  ).join("") + `<button type="button" data-visitor="" aria-pressed="${visitor === null}">New visitor</button>`);
  const lines = (visitor && seen.chats[visitor]) || [];
  const name = visitor ? names[visitor] : null;
  setHtml($("#widget-log"), lines.length
    ? lines.map((line) => {
      const cut = line.indexOf(": ");
      const who = line.slice(0, cut);
      const mine = who === name;
      return `<div class="bubble${mine ? " mine" : ""}"><span class="who">${esc(who)}</span>${esc(line.slice(cut + 2))}</div>`;
    }).join("")
    : `<p class="empty">${visitor ? "Nothing yet." : "A new visitor: give a name and write."}</p>`);
}

// Drawing it all: only what changed is drawn again (a button being clicked stays where it is),
// keeping what was typed and where the cursor was
function setHtml(element, html) {
  if (element.drawn !== html) {
    element.innerHTML = html;
    element.drawn = html;
  }
}
function drawList(box, items) {
  const keys = new Set(items.map(([key]) => key));
  for (const child of [...box.children]) if (!keys.has(child.dataset.item)) child.remove();
  items.forEach(([key, html], at) => {
    let child = [...box.children].find((c) => c.dataset.item === key);
    if (!child) {
      child = document.createElement("div");
      child.dataset.item = key;
    }
    if (box.children[at] !== child) box.insertBefore(child, box.children[at] || null);
    setHtml(child, html);
  });
}
function draw(seen) {
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
  const caret = focused ? [document.activeElement.selectionStart, document.activeElement.selectionEnd] : null;
  setHtml($("#acting"), seen.team.map((p) => `<option value="${p.id}"${p.id === me ? " selected" : ""}>${esc(p.name)}</option>`).join(""));
  widget(seen.widget);
  drawList($("#posts"), [
    ...seen.posts.map((post) => [post.ts, article(post)]),
    ...seen.only_you.map((told) => [`only-${told.index}`, onlyYou(told)]),
  ]);
  setHtml($("#told"), seen.told.map((t) => onlyYou({ text: t.text || "", blocks: t.blocks, answered: true })).join(""));
  setHtml($("#dms"), seen.dms.length
    ? `<h3>Direct messages from Chatra</h3>${seen.dms.map((d) => `<article class="post" aria-label="Direct message">${message(d, { ts: d.ts })}</article>`).join("")}`
    : "");
  setHtml($("#home-view"), seen.home ? blocks(seen.home.blocks, { view_id: "home" }) : "<p class=empty>Opening…</p>");
  $("#calls-count").textContent = `(${seen.membrane.length})`;
  setHtml($("#calls"), seen.membrane.slice().reverse().map((call) =>
    `<li><code>${esc(call.action)}</code> <span class="input">${esc(JSON.stringify(call.input))}</span></li>`
  ).join(""));
  drawModal(seen.modal);
  for (const box of document.querySelectorAll("[data-key]")) {
    if (box.dataset.key in drafts && box.value !== drafts[box.dataset.key]) box.value = drafts[box.dataset.key];
  }
  if (focused) {
    const box = document.querySelector(`[data-key="${focused}"]`);
    if (box) {
      box.focus();
      if (caret && box.setSelectionRange) box.setSelectionRange(caret[0], caret[1]);
    }
  }
}
function drawModal(view) {
  const overlay = $("#overlay");
  if (!view) {
    setHtml(overlay, "");
    return;
  }
  const title = (view.title && view.title.text) || "Modal";
  const submit = view.submit ? `<button type="submit" class="primary">${esc(view.submit.text)}</button>` : "";
  const close = esc((view.close && view.close.text) || "Close");
  setHtml(overlay, `<div class="shade"><form class="modal" role="dialog" aria-modal="true" aria-label="${esc(title)}" data-view="${esc(view.id)}">` +
    `<h3>${esc(title)}</h3>${blocks(view.blocks, { view_id: view.id })}<div class="modal-buttons"><button type="button" data-cancel="${esc(view.id)}">${close}</button>${submit}</div></form></div>`);
}

// What a person types in Slack, as Slack sends it: "@Kim" picked from the list is <@U…>
function asSlack(text) {
  return text.replace(/(^|\s)@(\w+)/g, (all, before, name) => {
    const found = state.team.find((p) => p.name.toLowerCase() === name.toLowerCase());
    return found ? `${before}<@${found.id}>` : all;
  });
}

// Acting
async function act(name, body) {
  quietSince = Date.now();
  const answer = await fetch(`/sandbox/${name}`, { method: "POST", body: JSON.stringify({ user: me, ...body }) });
  const text = await answer.text();
  const problem = $("#problem");
  problem.hidden = answer.ok;
  problem.textContent = answer.ok ? "" : text;
  await refresh(true);
  return answer.ok ? JSON.parse(text) : null;
}
let asked = 0; // refreshes asked for, in order
let drawnFrom = 0; // the newest whose answer was drawn: an older answer arriving later is stale
async function refresh(force) {
  const mine = ++asked;
  try {
    const answer = await fetch(`/sandbox/state?user=${encodeURIComponent(me)}`);
    const text = await answer.text();
    if (mine < drawnFrom) return;
    drawnFrom = mine;
    if (!force && text === last) return;
    last = text;
    state = JSON.parse(text);
    draw(state);
  } catch (error) {
    // the sandbox stopped: nothing to draw
  }
}
function confirmFirst(confirm) {
  if (!confirm) return Promise.resolve(true);
  return new Promise((resolve) => {
    const box = document.createElement("div");
    box.className = "shade";
    box.innerHTML = `<div class="modal" role="alertdialog" aria-label="${esc(confirm.title ? confirm.title.text : "Are you sure?")}">` +
      `<h3>${esc(confirm.title ? confirm.title.text : "Are you sure?")}</h3><p>${textObject(confirm.text)}</p>` +
      `<div class="modal-buttons"><button type="button" data-answer="no">${esc(confirm.deny ? confirm.deny.text : "Cancel")}</button>` +
      `<button type="button" class="primary" data-answer="yes">${esc(confirm.confirm ? confirm.confirm.text : "Yes")}</button></div></div>`;
    document.body.appendChild(box);
    box.addEventListener("click", (event) => {
      const answer = event.target.dataset.answer;
      if (!answer) return;
      box.remove();
      resolve(answer === "yes");
    });
  });
}

document.addEventListener("input", (event) => {
  if (event.target.dataset && event.target.dataset.key) drafts[event.target.dataset.key] = event.target.value;
});
document.addEventListener("click", async (event) => {
  const target = event.target.closest("button");
  if (!target) return;
  const data = target.dataset;
  if (data.btn !== undefined) {
    const [button, where] = buttons[Number(data.btn)];
    if (await confirmFirst(button.confirm)) await act("click", { button, ...where });
  } else if (data.visitor !== undefined) {
    visitor = data.visitor || null;
    drafts["visitor-name"] = visitor ? state.widget.names[visitor] : "";
    draw(state);
    $("#visitor-text").focus();
  } else if (data.edit) {
    editing = data.edit;
    draw(state);
  } else if (data.cancelEdit !== undefined) {
    editing = null;
    draw(state);
  } else if (data.saveEdit) {
    const text = drafts[`edit-${data.saveEdit}`];
    editing = null;
    if (text !== undefined) await act("edit", { ts: data.saveEdit, text: asSlack(text) });
    else draw(state);
  } else if (data.delete) {
    if (await confirmFirst({ title: { text: "Delete the reply?" }, text: { type: "plain_text", text: "The visitor's copy goes too." }, confirm: { text: "Delete" }, deny: { text: "Keep it" } })) {
      await act("delete", { ts: data.delete });
    }
  } else if (data.react) {
    await act("react", { ts: data.react, on: data.on === "true" });
  } else if (data.cancel) {
    modalErrors = {};
    await act("cancel", { view_id: data.cancel });
  }
});
document.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  if (form.id === "visitor-form") {
    const text = $("#visitor-text").value.trim();
    if (!text) return;
    const name = $("#visitor-name").value.trim() || "Jane";
    const sent = await act("visitor", visitor ? { visitor, name, text } : { name, text });
    if (sent) {
      visitor = sent.visitor;
      drafts["visitor-text"] = "";
      $("#visitor-text").value = "";
      await refresh(true);
    }
  } else if (form.id === "command-form") {
    const text = $("#command").value.trim();
    if (!text) return;
    drafts.command = "";
    $("#command").value = "";
    await act("command", { text });
  } else if (form.dataset.thread) {
    const key = `reply-${form.dataset.thread}`;
    const text = (drafts[key] || "").trim();
    if (!text) return;
    drafts[key] = "";
    await act("reply", { thread_ts: form.dataset.thread, text: asSlack(text) });
  } else if (form.dataset.view) {
    const values = {};
    for (const box of form.querySelectorAll("[data-block]")) values[box.dataset.block] = box.value;
    const done = await act("submit", { view_id: form.dataset.view, values });
    modalErrors = (done && done.errors) || {};
    for (const key of Object.keys(drafts)) if (key.startsWith("modal-") && !done?.errors) delete drafts[key];
    if (state) draw(state);
  }
});
$("#acting").addEventListener("change", async (event) => {
  me = event.target.value;
  localStorage.setItem("acting", me);
  editing = null;
  if (tab === "home") await act("home", {});
  await refresh(true);
});
$("#greet").addEventListener("click", async () => {
  const name = $("#visitor-name").value.trim() || "Jane";
  const sent = await act("trigger", visitor ? { visitor, name, text: "Hi! Need a hand?" } : { name, text: "Hi! Need a hand?" });
  if (sent) visitor = sent.visitor;
});
$("#end-chat").addEventListener("click", async () => {
  if (!visitor) return;
  await act("close", { visitor, rating: $("#rating").value, comment: $("#rating-comment").value });
});
for (const [id, name] of [["#tab-channel", "channel"], ["#tab-home", "home"]]) {
  $(id).addEventListener("click", async () => {
    tab = name;
    $("#tab-channel").setAttribute("aria-selected", String(name === "channel"));
    $("#tab-home").setAttribute("aria-selected", String(name === "home"));
    $("#channel-view").hidden = name !== "channel";
    $("#home-view").hidden = name !== "home";
    if (name === "home") await act("home", {});
  });
}
// Asked four times a second while things happen, once a second when nothing has for a while:
// an act asks at once, so what it causes shows within half a second.
let quietSince = Date.now();
async function poll() {
  const before = last;
  await refresh(false);
  if (last !== before) quietSince = Date.now();
  setTimeout(poll, Date.now() - quietSince > 5000 ? 1000 : 250);
}
poll();
