module github.com/broker-dev/broker/deploy

go 1.26.8

require github.com/moby/patternmatcher v0.6.1
