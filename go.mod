module github.com/connscope/connscope

go 1.26.8
