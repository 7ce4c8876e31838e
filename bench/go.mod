module github.com/flightkit/flightkit/bench

go 1.26.6

replace github.com/flightkit/flightkit => ../

require (
	github.com/flightkit/flightkit v0.0.0-00010101000000-000000000000
	github.com/graph-gophers/dataloader/v7 v7.1.0
	github.com/vikstrous/dataloadgen v0.0.10
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.25.0
	gonum.org/v1/plot v0.17.0
	resenje.org/singleflight v0.4.3
	tailscale.com v1.102.5
)

require (
	codeberg.org/go-fonts/liberation v0.5.0 // indirect
	codeberg.org/go-latex/latex v0.2.0 // indirect
	codeberg.org/go-pdf/fpdf v0.11.1 // indirect
	git.sr.ht/~sbinet/gg v0.7.0 // indirect
	github.com/ajstarks/svgo v0.0.0-20211024235047-1546f124cd8b // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	go.opentelemetry.io/otel v1.39.0 // indirect
	go.opentelemetry.io/otel/trace v1.39.0 // indirect
	golang.org/x/image v0.41.0 // indirect
	golang.org/x/text v0.40.0 // indirect
)
