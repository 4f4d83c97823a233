package router

import (
	"net/http"
	"testing"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/adaptertest"
)

// TestConformance runs the traffic adapter suite against a router running
// as `durable router` does, driven through its admin API.
func TestConformance(t *testing.T) {
	listen, admin := startRouter(t)
	proxy := "http://" + listen + "/"
	adaptertest.RunTraffic(t, adaptertest.TrafficHarness{
		New: func(t *testing.T) adapters.Traffic { return newClient(t, admin, "") },
		Send: func(t *testing.T, service string) (string, error) {
			req, err := http.NewRequest(http.MethodGet, proxy, nil)
			if err != nil {
				return "", err
			}
			req.Host = service + ".localhost"
			return adaptertest.ReadAll(http.DefaultClient.Do(req))
		},
	})
}
