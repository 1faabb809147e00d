module github.com/seed-a245f091/connpool

go 1.25

require go.uber.org/goleak v1.3.0
