module github.com/taskline/taskline/clients/go

go 1.19
