package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// paginationMedia is the Accept media type that opts into the paginated reply form (§0.6).
const paginationMedia = "application/jupyterhub-pagination+json"

// page is a parsed offset/limit and whether the client asked for the paginated form.
type page struct {
	offset, limit int
	paginated     bool
}

// wantsPagination scans the Accept list for the pagination media type.
func wantsPagination(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.TrimSpace(mt) == paginationMedia {
				return true
			}
		}
	}
	return false
}

// parsePage reads offset and limit: offset ≥ 0 (abs), limit clamped to 1..PageMaxLimit; the
// default limit is PageDefaultLimit with the pagination header and PageMaxLimit without.
func (a *API) parsePage(r *http.Request) (page, error) {
	q := r.URL.Query()
	p := page{paginated: wantsPagination(r), limit: a.d.PageMaxLimit}
	if p.paginated {
		p.limit = a.d.PageDefaultLimit
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, errorf(http.StatusBadRequest, "offset must be an integer, not %q", s)
		}
		p.offset = max(n, -n)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, errorf(http.StatusBadRequest, "limit must be an integer, not %q", s)
		}
		p.limit = min(max(n, -n, 1), a.d.PageMaxLimit) // abs, then clamped, as JupyterHub does
	}
	return p, nil
}

// startList begins a list reply: `{"items":[` in the paginated form, `[` otherwise.
func (p page) startList(j *jw) {
	if p.paginated {
		j.b = append(j.b, `{"items":[`...)
	} else {
		j.b = append(j.b, '[')
	}
}

// endList closes a list reply, adding _pagination with total and the next page's URL.
func (p page) endList(j *jw, r *http.Request, total int) {
	j.b = append(j.b, ']')
	p.endItems(j, r, total)
}

// endItems closes a paginated reply after its items value: `,"_pagination":{...}}`. It does
// nothing in the plain form.
func (p page) endItems(j *jw, r *http.Request, total int) {
	if !p.paginated {
		return
	}
	j.b = append(j.b, `,"_pagination":{"offset":`...)
	j.int(int64(p.offset))
	j.b = append(j.b, `,"limit":`...)
	j.int(int64(p.limit))
	j.b = append(j.b, `,"total":`...)
	j.int(int64(total))
	j.b = append(j.b, `,"next":`...)
	if next := p.offset + p.limit; next < total {
		j.b = append(j.b, `{"offset":`...)
		j.int(int64(next))
		j.b = append(j.b, `,"limit":`...)
		j.int(int64(p.limit))
		j.b = append(j.b, `,"url":`...)
		j.str(nextURL(r, next, p.limit))
		j.b = append(j.b, '}')
	} else {
		j.null()
	}
	j.b = append(j.b, "}}"...)
}

// nextURL is the full request URL with offset and limit replaced.
func nextURL(r *http.Request, offset, limit int) string {
	q := r.URL.Query()
	q.Set("offset", strconv.Itoa(offset))
	q.Set("limit", strconv.Itoa(limit))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	return u.String()
}
