module github.com/seed-a245f091/connpool/bench

go 1.25

require (
	github.com/jackc/puddle/v2 v2.2.3
	github.com/seed-a245f091/connpool v0.0.0
	go.uber.org/goleak v1.3.0
)

require golang.org/x/sync v0.1.0 // indirect

replace github.com/seed-a245f091/connpool => ../
