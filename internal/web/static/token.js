// gohub: the token page. It requests tokens (POST {hub}api/users/{me}/tokens with note,
// expires_in and scopes) and revokes tokens and authorized applications (DELETE
// .../tokens/{id}, every token of an application) with the login cookie and the page's _xsrf
// token, as JupyterHub's token page does.
(function () {
  "use strict";
  var root = document.getElementById("tokens");
  if (!root) return;
  var apiURL = root.getAttribute("data-api");
  var xsrf = root.getAttribute("data-xsrf");
  var me = root.getAttribute("data-me");
  var $ = function (id) { return document.getElementById(id); };
  var tokensURL = apiURL + "users/" + encodeURIComponent(me) + "/tokens";

  function call(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-XSRFToken": xsrf, "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok && r.status !== 404) {
          throw new Error(data && data.message ? data.message : r.status + " " + r.statusText);
        }
        return data;
      });
    });
  }

  function showError(text) {
    var p = $("token-error");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function shortTime(iso) {
    if (!iso) return null;
    var t = el("time", null, iso.slice(0, 10) + " " + iso.slice(11, 16) + " UTC");
    t.setAttribute("datetime", iso);
    return t;
  }
  function cell(label, child) {
    var td = el("td");
    td.setAttribute("data-label", label);
    td.appendChild(child);
    return td;
  }

  // addRow puts a newly created token at the top of the API tokens table.
  function addRow(tok, requested) {
    var tr = el("tr", "token-row");
    tr.setAttribute("data-token-id", tok.id);
    var th = el("th", null, tok.note || "");
    th.setAttribute("scope", "row");
    tr.appendChild(th);
    // The scopes asked for, as the server-rendered rows show them (the reply has them expanded).
    var ul = el("ul", "scope-list");
    requested.forEach(function (s) { var li = el("li"); li.appendChild(el("code", null, s)); ul.appendChild(li); });
    tr.appendChild(cell("Permissions", requested.length ? ul : el("span", "muted", "All of yours")));
    tr.appendChild(cell("Last used", el("span", "muted", "Never")));
    tr.appendChild(cell("Created", shortTime(tok.created) || el("span", "muted", "Now")));
    tr.appendChild(cell("Expires", shortTime(tok.expires_at) || document.createTextNode("Never")));
    var td = el("td", "actions");
    var b = el("button", "btn btn-danger btn-small token-revoke", "Revoke");
    b.type = "button";
    b.setAttribute("data-token-ids", tok.id);
    b.setAttribute("aria-label", "Revoke token " + (tok.note || tok.id));
    td.appendChild(b);
    tr.appendChild(td);
    var body = $("api-tokens-body");
    body.insertBefore(tr, body.firstChild);
    $("api-tokens").hidden = false;
    $("no-api-tokens").hidden = true;
  }

  $("token-form").addEventListener("submit", function (e) {
    e.preventDefault();
    showError("");
    var body = {};
    var note = $("token-note").value.trim();
    if (note) body.note = note;
    var exp = $("token-expires").value;
    if (exp) body.expires_in = parseInt(exp, 10);
    var scopes = $("token-scopes").value.split(/[\s,]+/).filter(Boolean);
    if (scopes.length) body.scopes = scopes;
    var submit = $("token-submit");
    submit.disabled = true;
    call("POST", tokensURL, body).then(function (tok) {
      $("new-token-value").value = tok.token;
      var box = $("new-token");
      box.hidden = false;
      box.focus();
      $("new-token-value").select();
      $("token-note").value = "";
      $("token-scopes").value = "";
      addRow(tok, scopes);
    }).catch(function (err) { showError(err.message); }).then(function () { submit.disabled = false; });
  });

  $("new-token-copy").addEventListener("click", function () {
    var input = $("new-token-value");
    input.select();
    var b = this;
    var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });

  // Revoking: one listener for every row, present and future.
  root.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest(".token-revoke") : null;
    if (!b) return;
    var ids = (b.getAttribute("data-token-ids") || "").split(" ").filter(Boolean);
    b.disabled = true;
    var row = b.closest("tr");
    Promise.all(ids.map(function (id) { return call("DELETE", tokensURL + "/" + encodeURIComponent(id)); })).then(function () {
      var tbody = row.parentNode;
      var next = row.nextElementSibling || row.previousElementSibling;
      tbody.removeChild(row);
      if (!tbody.children.length) {
        var table = tbody.closest("table");
        table.hidden = true;
        if (table.id === "api-tokens") $("no-api-tokens").hidden = false;
      }
      // Keep the keyboard focus in the table rather than losing it to the page.
      var focus = next && next.querySelector(".token-revoke");
      if (focus) focus.focus();
    }).catch(function (err) {
      b.disabled = false;
      showError(err.message);
    });
  });
})();
