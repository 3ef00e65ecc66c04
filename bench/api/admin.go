package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// This file is the -admin mode: it walks the user list page by page as gohub's /hub/admin page
// does (GET /users?offset&limit=50 with sort, name_filter and include_stopped_servers, the
// pagination Accept header, the login cookie and the page's _xsrf token) and prints per-page
// latency. JupyterHub is walked with what its API of that version offers for the same screen.

// adminPageSize is the admin page's default page size.
const adminPageSize = 50

// adminView is one way the admin page lists users.
type adminView struct {
	Name string
	// Query is the gohub query without offset and limit; JHQuery is JupyterHub's ("-": the
	// version lacks it, see jhSupports).
	Query, JHQuery string
	// Want is how many users the walk must see (the seeded users, bench-admin included or not).
	Want func(users int) int
}

func adminViews() []adminView {
	return []adminView{
		{Name: "all users, by name", Query: "sort=name&include_stopped_servers=1", JHQuery: "",
			Want: func(n int) int { return n + 1 }},
		{Name: "by last activity, newest first", Query: "sort=-last_activity&include_stopped_servers=1", JHQuery: "sort=-last_activity",
			Want: func(n int) int { return n + 1 }},
		{Name: `search "user01"`, Query: "sort=name&name_filter=user01&include_stopped_servers=1", JHQuery: "name_filter=user01",
			Want: func(n int) int { return matching(n, "user01") }},
	}
}

// matching counts the seeded user names containing s.
func matching(n int, s string) int {
	c := 0
	for i := range n {
		if strings.Contains(userName(i), s) {
			c++
		}
	}
	return c
}

// pageWalker fetches pages of GET /users the way one client does.
type pageWalker interface {
	page(ctx context.Context, query string) (items int, next bool, err error)
}

// cookieWalker is gohub's admin page: the login cookie, X-XSRFToken from the page, and the
// browser's Sec-Fetch-Mode so the hub checks it.
type cookieWalker struct {
	api  string
	xsrf string
	c    *http.Client
}

var xsrfAttr = regexp.MustCompile(`data-xsrf="([^"]+)"`)

// loginAdminPage logs in as bench-admin through gohub's login form (the dummy authenticator
// takes any password) and loads /hub/admin for its _xsrf token.
func loginAdminPage(ctx context.Context, apiURL string) (*cookieWalker, error) {
	hubURL := strings.TrimSuffix(apiURL, "api") // .../hub/
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 60 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	get := func(u string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return string(b), err
	}
	page, err := get(hubURL + "login")
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`name="_xsrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("no _xsrf field on the login page")
	}
	form := url.Values{"_xsrf": {m[1]}, "username": {adminName}, "password": {"bench"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hubURL+"login?next=%2Fhub%2Fadmin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req) // follows the redirect to /hub/admin
	if err != nil {
		return nil, fmt.Errorf("log in: %w", err)
	}
	resp.Body.Close()
	page, err = get(hubURL + "admin")
	if err != nil {
		return nil, err
	}
	if m = xsrfAttr.FindStringSubmatch(page); m == nil {
		return nil, fmt.Errorf("no _xsrf token on /hub/admin")
	}
	return &cookieWalker{api: apiURL, xsrf: m[1], c: c}, nil
}

func (w *cookieWalker) page(ctx context.Context, query string) (int, bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.api+"/users?"+query, nil)
	req.Header.Set("Accept", "application/jupyterhub-pagination+json")
	req.Header.Set("X-XSRFToken", w.xsrf)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return readPage(w.c, req)
}

// tokenWalker is an API client with the hub-generated admin token.
type tokenWalker struct{ c *apiClient }

func (w tokenWalker) page(ctx context.Context, query string) (int, bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.c.base+"/users?"+query, nil)
	req.Header.Set("Accept", "application/jupyterhub-pagination+json")
	req.Header.Set("Authorization", "token "+w.c.token)
	return readPage(w.c.http, req)
}

// readPage sends a paginated request and counts its items.
func readPage(c *http.Client, req *http.Request) (int, bool, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, false, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("GET %s: %s: %.200s", req.URL.RequestURI(), resp.Status, b)
	}
	var p struct {
		Items      []json.RawMessage `json:"items"`
		Pagination struct {
			Next *struct{} `json:"next"`
		} `json:"_pagination"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return 0, false, fmt.Errorf("GET %s: decode: %w", req.URL.RequestURI(), err)
	}
	return len(p.Items), p.Pagination.Next != nil, nil
}

// walk lists every page of a view once and returns each page's latency.
func walk(ctx context.Context, w pageWalker, query string, want int) ([]time.Duration, error) {
	var lat []time.Duration
	seen := 0
	for offset := 0; ; offset += adminPageSize {
		q := fmt.Sprintf("offset=%d&limit=%d", offset, adminPageSize)
		if query != "" {
			q += "&" + query
		}
		t0 := time.Now()
		n, next, err := w.page(ctx, q)
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		seen += n
		if !next {
			break
		}
	}
	if seen != want {
		return nil, fmt.Errorf("saw %d users, want %d", seen, want)
	}
	return lat, nil
}

// jhSupports reports whether JupyterHub of version v takes a query (sort and name_filter came
// with 5.0).
func jhSupports(v, query string) bool {
	if query == "" {
		return true
	}
	major := 0
	fmt.Sscanf(v, "%d", &major)
	return major >= 5
}

// adminRuns walks every view o.rounds times on each hub and prints per-page latency.
func adminRuns(ctx context.Context, o options, sides []*side) error {
	type row struct {
		view, hub, how string
		lat            []time.Duration
		note           string
	}
	var rows []row
	for _, view := range adminViews() {
		for _, sd := range sides {
			var w pageWalker
			how, query := "", view.Query
			if sd.hub.Name == "gohub" {
				cw, err := loginAdminPage(ctx, sd.hub.APIURL)
				if err != nil {
					return fmt.Errorf("gohub admin page: %w", err)
				}
				w, how = cw, "cookie+_xsrf"
			} else {
				query = view.JHQuery
				if !jhSupports(sd.version, query) {
					rows = append(rows, row{view: view.Name, hub: sd.hub.Name, how: "token", note: "not in " + sd.version})
					continue
				}
				w, how = tokenWalker{sd.client}, "token"
			}
			var all []time.Duration
			for range o.rounds {
				lat, err := walk(ctx, w, query, view.Want(o.users))
				if err != nil {
					return fmt.Errorf("%s: %s: %w", sd.hub.Name, view.Name, err)
				}
				all = append(all, lat...)
			}
			fmt.Fprintf(os.Stderr, "%-32s %-10s %d pages\n", view.Name, sd.hub.Name, len(all))
			rows = append(rows, row{view: view.Name, hub: sd.hub.Name, how: how, lat: all})
		}
	}

	fmt.Printf("\nAdmin page user list: %d users, pages of %d, one client walking every page, %d rounds, SQLite\n",
		o.users+1, adminPageSize, o.rounds)
	fmt.Printf("%s\n", machine())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "view\thub\tauth\tpages\tp50\tp99\tmax\t")
	worst := time.Duration(0)
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t(%s)\t\n", r.view, r.hub, r.how, r.note)
			continue
		}
		slices.Sort(r.lat)
		p99 := pct(r.lat, 0.99)
		if r.hub == "gohub" {
			worst = max(worst, p99)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", r.view, r.hub, r.how, len(r.lat),
			fmtDur(pct(r.lat, 0.5)), fmtDur(p99), fmtDur(r.lat[len(r.lat)-1]))
	}
	tw.Flush()
	verdict := "meets target"
	if worst >= 50*time.Millisecond {
		verdict = "below target"
	}
	fmt.Printf("target: a page of the admin list in < 50 ms with 10,000 users; gohub's worst p99 %s: %s\n", fmtDur(worst), verdict)
	fmt.Println("JupyterHub 3.0 lists by id and has neither sort nor name_filter (they came with 5.0).")
	return nil
}

// pct returns the q-quantile of sorted xs.
func pct(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}
