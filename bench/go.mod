module github.com/flightkit/flightkit/bench

go 1.26.6

replace github.com/flightkit/flightkit => ../

replace github.com/flightkit/flightkit/flight/fleet => ../flight/fleet

require (
	github.com/flightkit/flightkit v0.0.0-00010101000000-000000000000
	github.com/flightkit/flightkit/flight/fleet v0.0.0-00010101000000-000000000000
	github.com/graph-gophers/dataloader/v7 v7.1.0
	github.com/redis/go-redis/v9 v9.22.0
	github.com/vikstrous/dataloadgen v0.0.10
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.25.0
	resenje.org/singleflight v0.4.3
	tailscale.com v1.102.5
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.opentelemetry.io/otel v1.39.0 // indirect
	go.opentelemetry.io/otel/trace v1.39.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
