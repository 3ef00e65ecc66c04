package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"gohub/internal/naming"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// homeForm reads a form post of the home page: logged in, form parsed, _xsrf checked. It
// answers the request itself when !ok.
func (p *Pages) homeForm(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, p.d.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return nil, false
	}
	if !p.CheckXSRF(r, u) {
		p.Error(w, r, http.StatusForbidden, "'_xsrf' argument missing from POST")
		return nil, false
	}
	return u, true
}

// homeCreate answers POST /hub/home/servers, home's New server form: a valid name goes on to
// the spawn page of that server (303), which shows the options form or starts it; the server
// exists from its first start, as with upstream's home page.
func (p *Pages) homeCreate(w http.ResponseWriter, r *http.Request) {
	u, ok := p.homeForm(w, r)
	if !ok {
		return
	}
	if !p.d.AllowNamedServers {
		p.Error(w, r, http.StatusBadRequest, "Named servers are not enabled.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if err := naming.CheckServerName(name); err != nil {
		p.Error(w, r, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Location", p.hubPrefix+"spawn/"+escapeName(u.Name)+"/"+url.PathEscape(name))
	w.WriteHeader(http.StatusSeeOther)
}

// homeDelete answers POST /hub/home/delete, home's Delete button of a stopped named server:
// its record goes (as REST DELETE with {"remove": true}), then back home.
func (p *Pages) homeDelete(w http.ResponseWriter, r *http.Request) {
	u, ok := p.homeForm(w, r)
	if !ok {
		return
	}
	server := r.PostForm.Get("server")
	if server == "" {
		p.Error(w, r, http.StatusBadRequest, "The default server cannot be deleted.")
		return
	}
	err := p.d.Servers.Remove(r.Context(), spawner.UserFromStore(u), server)
	switch {
	case errors.Is(err, spawner.ErrNotFound):
		p.Error(w, r, http.StatusNotFound, "No such server.")
		return
	case errors.Is(err, spawner.ErrPending):
		p.Error(w, r, http.StatusBadRequest, "Stop the server "+server+" before deleting it.")
		return
	case errors.Is(err, spawner.ErrBadRequest):
		p.Error(w, r, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		p.log.Error("delete server", "user", u.Name, "server", server, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return
	}
	p.log.Info("server deleted", "user", u.Name, "server", server)
	w.Header().Set("Location", p.hubPrefix+"home")
	w.WriteHeader(http.StatusSeeOther)
}
