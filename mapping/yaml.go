package mapping

import (
	"bytes"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// MarshalYAML writes v as YAML the way the broker hands rules, conditions
// and app specs to people (`broker rules export`, `broker clients export`,
// the editors' YAML modes), and makes sure it reads back.
//
// Two-space indentation: yaml.v3's default (four) writes a string that
// starts with a line break, inside a nested field, as a literal block it
// then cannot read back ("did not find expected key"), so an exported rule
// whose description began with a line break could not be applied again.
// Other strings yaml.v3 cannot write readably (a multi-line value starting
// with a tab) are refused here, with an error, rather than written: the
// output is read back into a fresh value of v's type and written again,
// and must come out the same.
func MarshalYAML(v any) ([]byte, error) {
	b, err := encodeYAML(v)
	if err != nil {
		return nil, err
	}
	back := reflect.New(reflect.TypeOf(v))
	if err := yaml.Unmarshal(b, back.Interface()); err != nil {
		return nil, fmt.Errorf("a text in it cannot be written as YAML that reads back (%v): look for a multi-line label, description or value starting with a tab or a line break", err)
	}
	again, err := encodeYAML(back.Elem().Interface())
	if err != nil || !bytes.Equal(b, again) {
		return nil, fmt.Errorf("a text in it cannot be written as YAML that reads back the same: look for a multi-line label, description or value starting with a tab, spaces or a line break")
	}
	return b, nil
}

func encodeYAML(v any) ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
