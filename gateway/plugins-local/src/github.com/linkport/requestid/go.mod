module github.com/linkport/requestid

go 1.22
