// Package config reads and validates the broker's YAML configuration file.
//
//	file ──> yaml.Node (positions; a syntax error names its line)
//	     ──> checked against Config's yaml tags (decode.go): unknown keys
//	         ("did you mean …?"), duplicates and values of the wrong kind are
//	         problems and are taken out, the rest decodes into Config
//	     ──> Validate: every problem, each with its file:line:col and path,
//	         sorted by line; none that follows from a value already reported
//	     ──> secrets resolved from env:NAME / file:PATH references
//
// Config holds plain values. The rules section is not judged here: the
// caller checks it with ruleset.Check (MappingOptions gives the engine
// options) and places each problem in the file with Locate.
//
// Load never stops at the first problem: `broker check` prints them all.
// Config holds plain values; rules that belong to other packages are asked
// of them: partitions, regions and console URLs of package partition, the
// rules and the admin condition of mapping.
// Secrets (keys, session keys) are never written inline in examples and are
// never echoed back in problems. Keys are judged past their syntax
// (keycheck.go): a key that is not random (a byte or pattern repeated, few
// distinct bytes) and a store key that is also a cookie key are errors; the
// config file and secret files readable by group or others are warnings.
package config
