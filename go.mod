module github.com/seed-a245f091/connpool

go 1.25
