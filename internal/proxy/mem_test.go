package proxy

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// TestHeapPerRoute keeps the route table's memory within bench/proxy/README.md's 1 KB per
// route, for routes added through the API as the hub adds them.
func TestHeapPerRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 10,000 routes")
	}
	tab := NewRouteTable()
	api := NewAPI(tab, APIOptions{Logger: discardLogger()})
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n = 10000
	before := heap()
	for i := range n {
		body := fmt.Sprintf(`{"target":"http://127.0.0.1:%d","user":"user%05d","server_name":"","jupyterhub":true}`, 20000+i, i)
		req := httptest.NewRequest("POST", fmt.Sprintf("/api/routes/user/user%05d", i), strings.NewReader(body))
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != 201 {
			t.Fatalf("add %d: %d", i, rec.Code)
		}
	}
	per := float64(heap()-before) / n
	t.Logf("%.0f bytes of heap per route", per)
	if per > 1024 {
		t.Errorf("%.0f bytes per route, want ≤ 1 KB", per)
	}
	runtime.KeepAlive(tab)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
