// gohub: the admin page. It reads and changes users, servers and groups through the hub's REST
// API with the login cookie and the page's _xsrf token (X-XSRFToken header); the API checks
// every scope. Users are paged by the API (offset, limit, name_filter, sort, state), so the
// page stays fast with many users; the view is kept in the address bar's query.
(function () {
  "use strict";
  var root = document.getElementById("admin");
  if (!root) return;
  var apiURL = root.getAttribute("data-api");
  var xsrf = root.getAttribute("data-xsrf");
  var me = root.getAttribute("data-me");
  var canAccess = root.getAttribute("data-access") === "true";
  var canSpawn = root.getAttribute("data-spawn") === "true";
  var named = root.getAttribute("data-named") === "true";
  var canBlock = root.getAttribute("data-block") === "true";
  var canReset = root.getAttribute("data-resets") === "true";
  var $ = function (id) { return document.getElementById(id); };

  // ---- REST calls ----------------------------------------------------------------------
  function api(method, path, body) {
    var opts = {
      method: method,
      credentials: "same-origin",
      headers: { "X-XSRFToken": xsrf, "Accept": "application/jupyterhub-pagination+json" }
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(apiURL + path, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        if (text) {
          try { data = JSON.parse(text); } catch (e) { data = null; }
        }
        if (!r.ok) {
          var msg = data && data.message ? data.message : r.status + " " + r.statusText;
          throw new Error(msg);
        }
        return data;
      });
    });
  }
  function q(s) { return encodeURIComponent(s); }
  function userPath(name) { return "users/" + q(name); }
  function serverPath(user, server) {
    return userPath(user) + (server ? "/servers/" + q(server) : "/server");
  }

  // ---- messages --------------------------------------------------------------------------
  var msgBox = $("admin-message");
  var msgTimer = null;
  function say(text, isError) {
    msgBox.textContent = text;
    msgBox.className = "alert " + (isError ? "alert-error" : "alert-ok");
    msgBox.hidden = false;
    clearTimeout(msgTimer);
    if (!isError) msgTimer = setTimeout(function () { msgBox.hidden = true; }, 6000);
  }
  function fail(err) { say(err.message || String(err), true); }

  // ---- small DOM helpers -------------------------------------------------------------------
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "class") e.className = attrs[k];
        else if (k === "onclick") e.addEventListener("click", attrs[k]);
        else e.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function button(text, cls, onclick, label) {
    var b = el("button", { type: "button", class: "btn btn-small " + cls, text: text, onclick: onclick });
    if (label) b.setAttribute("aria-label", label);
    return b;
  }
  function ago(iso) {
    if (!iso) return "Never";
    var t = new Date(iso);
    var s = (Date.now() - t.getTime()) / 1000;
    if (s < 60) return "Just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    if (s < 86400 * 60) return Math.floor(s / 86400) + " days ago";
    return t.toISOString().slice(0, 10);
  }
  function timeEl(iso) {
    if (!iso) return el("span", { class: "muted", text: "Never" });
    return el("time", { datetime: iso, title: iso, text: ago(iso) });
  }

  // ---- the users view ----------------------------------------------------------------------
  var params = new URLSearchParams(window.location.search);
  var view = {
    offset: Math.max(0, parseInt(params.get("offset") || "0", 10) || 0),
    limit: parseInt(params.get("limit") || root.getAttribute("data-per-page"), 10) || 50,
    filter: params.get("name_filter") || "",
    sort: params.get("sort") || "name",
    state: params.get("state") || ""
  };
  var searchBox = $("user-search"), stateBox = $("user-state"), limitBox = $("user-limit");
  searchBox.value = view.filter;
  stateBox.value = view.state;
  limitBox.value = String(view.limit);
  if (limitBox.value !== String(view.limit)) { view.limit = 50; limitBox.value = "50"; }

  var loadSeq = 0, pollTimer = null, lastPage = null;

  function keepInAddress() {
    var p = new URLSearchParams();
    if (view.filter) p.set("name_filter", view.filter);
    if (view.state) p.set("state", view.state);
    if (view.sort !== "name") p.set("sort", view.sort);
    if (view.offset) p.set("offset", String(view.offset));
    if (view.limit !== 50) p.set("limit", String(view.limit));
    var s = p.toString();
    history.replaceState(null, "", window.location.pathname + (s ? "?" + s : ""));
  }

  function loadUsers() {
    var seq = ++loadSeq;
    var p = new URLSearchParams({
      offset: String(view.offset), limit: String(view.limit), sort: view.sort,
      include_stopped_servers: "1"
    });
    if (view.filter) p.set("name_filter", view.filter);
    if (view.state) p.set("state", view.state);
    keepInAddress();
    return api("GET", "users?" + p.toString()).then(function (page) {
      if (seq !== loadSeq) return; // a newer request is on its way
      if (page.items.length === 0 && view.offset > 0 && page._pagination.total > 0) {
        // The page emptied (users deleted or a narrower filter): go to the last one.
        var pg = page._pagination;
        view.offset = Math.max(0, Math.floor((pg.total - 1) / view.limit) * view.limit);
        return loadUsers();
      }
      lastPage = page;
      renderUsers(page);
    }).catch(fail);
  }

  function sortHeaders() {
    var key = view.sort.replace(/^-/, ""), desc = view.sort.charAt(0) === "-";
    document.querySelectorAll("#users-table th[data-sort]").forEach(function (th) {
      var on = th.getAttribute("data-sort") === key;
      th.setAttribute("aria-sort", on ? (desc ? "descending" : "ascending") : "none");
    });
  }

  function serversOf(u) {
    var list = [];
    var servers = u.servers || {};
    var def = servers[""];
    if (!def) {
      def = { name: "", ready: !!u.server && !u.pending, pending: u.pending || null, url: u.server || null, stopped: !u.server && !u.pending };
    }
    list.push(def);
    if (named) {
      Object.keys(servers).sort().forEach(function (k) { if (k !== "") list.push(servers[k]); });
    }
    return list;
  }

  function serverLine(u, s) {
    var label = s.name ? s.name : "default";
    var badge;
    if (s.pending === "spawn") badge = el("span", { class: "badge badge-busy", text: "Starting" });
    else if (s.pending === "stop") badge = el("span", { class: "badge badge-busy", text: "Stopping" });
    else if (s.pending) badge = el("span", { class: "badge badge-busy", text: "Checking" });
    else if (s.ready) badge = el("span", { class: "badge badge-ok", text: "Running" });
    else badge = el("span", { class: "badge", text: "Stopped" });
    var who = u.name + (s.name ? "/" + s.name : "");
    var actions = el("span", { class: "server-actions" });
    if (canSpawn && !s.pending) {
      if (s.ready) {
        actions.appendChild(button("Stop", "btn-secondary server-stop", function () { act("DELETE", u.name, s.name, "Stopping " + who); }, "Stop server " + who));
      } else {
        actions.appendChild(button("Start", "btn-primary server-start", function () { act("POST", u.name, s.name, "Starting " + who); }, "Start server " + who));
      }
    }
    if (canAccess && s.ready && s.url) {
      actions.appendChild(el("a", { class: "btn btn-small btn-secondary server-open", href: s.url, "aria-label": "Open server " + who, text: "Open" }));
    }
    return el("li", { class: "server-line", "data-server": s.name }, [
      el("span", { class: "server-label", text: label }), badge, actions
    ]);
  }

  // Re-rendering replaces the rows: keep the keyboard focus on the same user (and server),
  // or on the user a dialog was about.
  var focusAfter = null;
  function focusKey(body) {
    var a = document.activeElement;
    if (!a || !body.contains(a)) return focusAfter;
    var tr = a.closest("tr"), li = a.closest("li.server-line");
    var sel = a.matches(".user-block, .user-unblock") ? ".user-block, .user-unblock" : a.matches(".user-reset") ? ".user-reset" : null;
    return tr ? { user: tr.getAttribute("data-user"), server: li ? li.getAttribute("data-server") : null, sel: sel } : null;
  }
  function restoreFocus(key) {
    if (!key) return;
    var row = null;
    document.querySelectorAll("#users-body tr.user-row").forEach(function (tr) {
      if (tr.getAttribute("data-user") === key.user) row = tr;
    });
    if (!row) { searchBox.focus(); return; }
    var target = null;
    if (key.server !== null && key.server !== undefined) {
      row.querySelectorAll("li.server-line").forEach(function (li) {
        if (li.getAttribute("data-server") === key.server) target = li.querySelector("button, a");
      });
    }
    (target || (key.sel && row.querySelector(key.sel)) || row.querySelector(".user-edit")).focus();
  }

  function renderUsers(page) {
    sortHeaders();
    var body = $("users-body");
    var keep = focusKey(body);
    focusAfter = null;
    body.textContent = "";
    if (page.items.length === 0) {
      body.appendChild(el("tr", null, [el("td", { colspan: "5", class: "muted", text: view.filter || view.state ? "No users match." : "No users yet." })]));
    }
    var anyPending = false;
    page.items.forEach(function (u) {
      var servers = serversOf(u);
      servers.forEach(function (s) { if (s.pending) anyPending = true; });
      var role = u.admin ? el("span", { class: "badge badge-admin", text: "Admin" }) : el("span", { class: "muted", text: "User" });
      var roleCell = el("td", { "data-label": "Role" }, [role]);
      if (u.blocked) roleCell.appendChild(el("span", { class: "badge badge-failed badge-blocked", text: "Blocked" }));
      var nameCell = el("th", { scope: "row", class: "user-name" }, [document.createTextNode(u.name)]);
      if (u.name === me) nameCell.appendChild(el("span", { class: "muted you", text: " (you)" }));
      var tr = el("tr", { class: "user-row", "data-user": u.name }, [
        nameCell,
        roleCell,
        el("td", { "data-label": "Last activity" }, [timeEl(u.last_activity)]),
        el("td", { "data-label": "Servers" }, [el("ul", { class: "server-list" }, servers.map(function (s) { return serverLine(u, s); }))]),
        el("td", { class: "actions" }, userActions(u))
      ]);
      body.appendChild(tr);
    });
    var pg = page._pagination, from = pg.total ? pg.offset + 1 : 0, to = pg.offset + page.items.length;
    $("users-summary").textContent = from + "–" + to + " of " + pg.total + (pg.total === 1 ? " user" : " users");
    $("users-prev").disabled = pg.offset === 0;
    $("users-next").disabled = !pg.next;
    restoreFocus(keep);
    clearTimeout(pollTimer);
    if (anyPending) pollTimer = setTimeout(loadUsers, 1000);
  }

  // The row's buttons: Edit; with admin:users, Block or Unblock (not oneself) and Reset link.
  var blockArmed = null;
  function userActions(u) {
    var out = [button("Edit", "btn-secondary user-edit", function () { editUser(u); }, "Edit user " + u.name)];
    if (canBlock && u.name !== me) {
      if (u.blocked) {
        out.push(button("Unblock", "btn-secondary user-unblock", function () { setBlocked(u.name, false); }, "Unblock user " + u.name));
      } else {
        // A second press confirms, as Delete does: blocking ends the user's sessions at once.
        var armed = blockArmed === u.name;
        var b = button(armed ? "Press again to block" : "Block", "btn-danger user-block", function () {
          if (blockArmed !== u.name) {
            blockArmed = u.name;
            b.textContent = "Press again to block";
            b.setAttribute("aria-label", "Press again to block " + u.name + ": their sessions end now");
            return;
          }
          blockArmed = null;
          setBlocked(u.name, true);
        }, armed ? "Press again to block " + u.name + ": their sessions end now" : "Block user " + u.name);
        b.addEventListener("blur", function () {
          if (blockArmed === u.name) {
            blockArmed = null;
            b.textContent = "Block";
            b.setAttribute("aria-label", "Block user " + u.name);
          }
        });
        out.push(b);
      }
    }
    if (canReset) {
      out.push(button("Reset link", "btn-secondary user-reset", function () { resetLink(u.name); }, "Password reset link for " + u.name));
    }
    return out;
  }
  function setBlocked(name, blocked) {
    var what = (blocked ? "Blocking " : "Unblocking ") + name;
    say(what + "…");
    focusAfter = { user: name, server: null, sel: ".user-block, .user-unblock" };
    api("PATCH", userPath(name), { blocked: blocked }).then(function (u) {
      if (!blocked && u && u.blocked) {
        say(name + " is still blocked: blocked_users in the configuration blocks them", true);
      } else {
        say(blocked ? "Blocked " + name + ": their sessions, tokens and servers ended" : "Unblocked " + name + ": they can sign in again");
      }
      return loadUsers();
    }).catch(fail);
  }

  // ---- one-time links (password reset, invitation) -----------------------------------------
  var linkDialog = $("link-dialog"), linkReturn = null;
  function until(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString();
  }
  function showLink(heading, text, link, returnTo) {
    linkReturn = returnTo;
    $("link-dialog-heading").textContent = heading;
    $("link-dialog-text").textContent = text;
    $("link-value").value = link;
    $("link-copy").textContent = "Copy";
    linkDialog.showModal();
    $("link-value").focus();
    $("link-value").select();
  }
  function resetLink(name) {
    say("Creating a password reset link for " + name + "…");
    api("POST", userPath(name) + "/password-reset").then(function (r) {
      msgBox.hidden = true;
      showLink("Password reset link for " + r.name,
        "Give this link to " + r.name + ". It sets a new password once, until " + until(r.expires_at) + ".",
        r.url, { user: name, server: null, sel: ".user-reset" });
    }).catch(fail);
  }
  $("link-copy").addEventListener("click", function () {
    var input = $("link-value"), b = this;
    input.select();
    var done = function () { b.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        if (document.execCommand && document.execCommand("copy")) done();
      });
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
  $("link-close").addEventListener("click", function () { linkDialog.close(); });
  linkDialog.addEventListener("close", function () {
    // Shown once: the secret leaves the page with the dialog.
    $("link-value").value = "";
    var back = linkReturn;
    linkReturn = null;
    if (back && back.user) restoreFocus(back);
    else if (back) back.focus();
  });
  if ($("invite-button")) {
    $("invite-button").addEventListener("click", function () {
      var b = this;
      api("POST", "invitations").then(function (r) {
        showLink("Invitation link",
          "Send this link to the person you invite. It creates one account, until " + until(r.expires_at) + ".",
          r.url, b);
      }).catch(fail);
    });
  }

  function act(method, user, server, what) {
    say(what + "…");
    api(method, serverPath(user, server)).then(function () {
      say(what + ": done");
      return loadUsers();
    }).catch(fail);
  }

  var searchTimer = null;
  searchBox.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      view.filter = searchBox.value.trim();
      view.offset = 0;
      loadUsers();
    }, 200);
  });
  $("user-filters").addEventListener("submit", function (e) {
    e.preventDefault();
    view.filter = searchBox.value.trim();
    view.offset = 0;
    loadUsers();
  });
  stateBox.addEventListener("change", function () { view.state = stateBox.value; view.offset = 0; loadUsers(); });
  limitBox.addEventListener("change", function () { view.limit = parseInt(limitBox.value, 10); view.offset = 0; loadUsers(); });
  $("users-prev").addEventListener("click", function () { view.offset = Math.max(0, view.offset - view.limit); loadUsers(); });
  $("users-next").addEventListener("click", function () {
    if (lastPage && lastPage._pagination.next) { view.offset = lastPage._pagination.next.offset; loadUsers(); }
  });
  document.querySelectorAll("#users-table .sort-button").forEach(function (b) {
    b.addEventListener("click", function () {
      var key = b.getAttribute("data-sort");
      view.sort = view.sort === key ? "-" + key : key;
      view.offset = 0;
      loadUsers();
    });
  });

  // ---- adding users ------------------------------------------------------------------------
  var addForm = $("add-users"), addToggle = $("add-users-toggle");
  function showAdd(on) {
    addForm.hidden = !on;
    addToggle.setAttribute("aria-expanded", String(on));
    if (on) $("add-usernames").focus();
  }
  addToggle.addEventListener("click", function () { showAdd(addForm.hidden); });
  $("add-users-cancel").addEventListener("click", function () { showAdd(false); addToggle.focus(); });
  addForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var names = $("add-usernames").value.split(/[\s,]+/).map(function (s) { return s.trim(); }).filter(Boolean);
    if (names.length === 0) return;
    api("POST", "users", { usernames: names, admin: $("add-admin").checked }).then(function (created) {
      var n = created ? created.length : 0;
      say("Added " + n + (n === 1 ? " user: " : " users: ") + (created || []).map(function (u) { return u.name; }).join(", "));
      $("add-usernames").value = "";
      $("add-admin").checked = false;
      showAdd(false);
      addToggle.focus();
      return loadUsers();
    }).catch(fail);
  });

  // ---- editing a user ------------------------------------------------------------------------
  var userDialog = $("user-dialog"), editing = null, deleteArmed = false;
  function dialogError(id, err) {
    var p = $(id);
    p.textContent = err ? (err.message || String(err)) : "";
    p.hidden = !err;
  }
  function editUser(u) {
    editing = u;
    deleteArmed = false;
    $("user-dialog-heading").textContent = "Edit " + u.name;
    $("edit-name").value = u.name;
    $("edit-admin").checked = !!u.admin;
    $("edit-delete").textContent = "Delete user";
    dialogError("user-dialog-error", null);
    userDialog.showModal();
    $("edit-name").focus();
  }
  $("edit-cancel").addEventListener("click", function () { userDialog.close(); });
  userDialog.addEventListener("close", function () {
    focusAfter = { user: editing.name, server: null };
    restoreFocus(focusAfter);
  });
  $("user-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var change = {};
    var name = $("edit-name").value.trim();
    if (name && name !== editing.name) change.name = name;
    if ($("edit-admin").checked !== !!editing.admin) change.admin = $("edit-admin").checked;
    if (Object.keys(change).length === 0) { userDialog.close(); return; }
    api("PATCH", userPath(editing.name), change).then(function (u) {
      editing = u || editing;
      userDialog.close();
      say("Saved " + (u ? u.name : name));
      return loadUsers();
    }).catch(function (err) { dialogError("user-dialog-error", err); });
  });
  $("edit-delete").addEventListener("click", function () {
    if (!deleteArmed) {
      // A second press confirms: no modal confirm(), which keyboard and screen reader users
      // and browser tests handle badly.
      deleteArmed = true;
      $("edit-delete").textContent = "Press again to delete " + editing.name;
      return;
    }
    var name = editing.name;
    api("DELETE", userPath(name)).then(function () {
      userDialog.close();
      say("Deleted " + name);
      return loadUsers();
    }).catch(function (err) { dialogError("user-dialog-error", err); });
  });

  // ---- groups --------------------------------------------------------------------------------
  var groupView = { offset: 0, limit: 50 }, groupPage = null;
  function loadGroups() {
    return api("GET", "groups?offset=" + groupView.offset + "&limit=" + groupView.limit).then(function (page) {
      groupPage = page;
      renderGroups(page);
      if (openGroup) {
        var g = page.items.filter(function (x) { return x.name === openGroup.name; })[0];
        if (g) showGroup(g);
      }
    }).catch(fail);
  }
  function renderGroups(page) {
    var body = $("groups-body");
    body.textContent = "";
    if (page.items.length === 0) {
      body.appendChild(el("tr", null, [el("td", { colspan: "4", class: "muted", text: "No groups yet." })]));
    }
    page.items.forEach(function (g) {
      var members = g.users || [];
      var props = Object.keys(g.properties || {});
      body.appendChild(el("tr", { class: "group-row", "data-group": g.name }, [
        el("th", { scope: "row", text: g.name }),
        el("td", { "data-label": "Members", text: members.length ? members.length + " (" + members.slice(0, 5).join(", ") + (members.length > 5 ? ", …" : "") + ")" : "None" }),
        el("td", { "data-label": "Properties", text: props.length ? props.join(", ") : "None" }),
        el("td", { class: "actions" }, [button("Edit", "btn-secondary group-edit", function () { showGroup(g, true); }, "Edit group " + g.name)])
      ]));
    });
    var pg = page._pagination, from = pg.total ? pg.offset + 1 : 0, to = pg.offset + page.items.length;
    $("groups-summary").textContent = from + "–" + to + " of " + pg.total + (pg.total === 1 ? " group" : " groups");
    $("groups-pager").hidden = pg.offset === 0 && !pg.next;
    $("groups-prev").disabled = pg.offset === 0;
    $("groups-next").disabled = !pg.next;
  }
  $("groups-prev").addEventListener("click", function () { groupView.offset = Math.max(0, groupView.offset - groupView.limit); loadGroups(); });
  $("groups-next").addEventListener("click", function () {
    if (groupPage && groupPage._pagination.next) { groupView.offset = groupPage._pagination.next.offset; loadGroups(); }
  });
  $("add-group").addEventListener("submit", function (e) {
    e.preventDefault();
    var name = $("new-group").value.trim();
    if (!name) return;
    api("POST", "groups/" + q(name), {}).then(function () {
      $("new-group").value = "";
      say("Created group " + name);
      return loadGroups();
    }).catch(fail);
  });

  var groupDialog = $("group-dialog"), openGroup = null, groupDeleteArmed = false;
  function showGroup(g, opening) {
    openGroup = g;
    $("group-dialog-heading").textContent = "Group " + g.name;
    var list = $("group-members");
    list.textContent = "";
    (g.users || []).forEach(function (name) {
      list.appendChild(el("li", { class: "chip" }, [
        el("span", { text: name }),
        el("button", { type: "button", class: "chip-remove", "aria-label": "Remove " + name + " from " + g.name, text: "×",
          onclick: function () { changeMembers("DELETE", [name]); } })
      ]));
    });
    if (!(g.users || []).length) list.appendChild(el("li", { class: "muted", text: "No members" }));
    if (opening) {
      $("group-properties").value = JSON.stringify(g.properties || {}, null, 2);
      groupDeleteArmed = false;
      $("group-delete").textContent = "Delete group";
      dialogError("group-dialog-error", null);
      groupDialog.showModal();
      $("group-new-members").focus();
    }
  }
  function changeMembers(method, names) {
    return api(method, "groups/" + q(openGroup.name) + "/users", { users: names }).then(function (g) {
      dialogError("group-dialog-error", null);
      if (g) showGroup(g);
      return loadGroups();
    }).catch(function (err) { dialogError("group-dialog-error", err); });
  }
  $("group-add-members").addEventListener("submit", function (e) {
    e.preventDefault();
    var names = $("group-new-members").value.split(/[\s,]+/).filter(Boolean);
    if (!names.length) return;
    changeMembers("POST", names).then(function () { $("group-new-members").value = ""; });
  });
  $("group-properties-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var props;
    try {
      props = JSON.parse($("group-properties").value || "{}");
    } catch (err) {
      dialogError("group-dialog-error", new Error("Properties are not valid JSON: " + err.message));
      return;
    }
    if (props === null || typeof props !== "object" || Array.isArray(props)) {
      dialogError("group-dialog-error", new Error("Properties must be a JSON object, like {\"course\": \"physics\"}"));
      return;
    }
    api("PUT", "groups/" + q(openGroup.name) + "/properties", props).then(function () {
      dialogError("group-dialog-error", null);
      say("Saved the properties of " + openGroup.name);
      return loadGroups();
    }).catch(function (err) { dialogError("group-dialog-error", err); });
  });
  $("group-close").addEventListener("click", function () { groupDialog.close(); });
  groupDialog.addEventListener("close", function () {
    var name = openGroup && openGroup.name;
    openGroup = null;
    var target = $("new-group");
    document.querySelectorAll("#groups-body tr.group-row").forEach(function (tr) {
      if (tr.getAttribute("data-group") === name) target = tr.querySelector(".group-edit");
    });
    target.focus();
  });
  $("group-delete").addEventListener("click", function () {
    if (!groupDeleteArmed) {
      groupDeleteArmed = true;
      $("group-delete").textContent = "Press again to delete " + openGroup.name;
      return;
    }
    var name = openGroup.name;
    api("DELETE", "groups/" + q(name)).then(function () {
      groupDialog.close();
      say("Deleted group " + name);
      return loadGroups();
    }).catch(function (err) { dialogError("group-dialog-error", err); });
  });

  loadUsers();
  loadGroups();
})();
