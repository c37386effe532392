// gotemplate-check parses template strings with Go's own text/template parser and says,
// for each, where it fails to parse, or which fields of the data it reads and which
// functions it calls. A config's templates are judged by the parser that will run them,
// not by an imitation of it.
//
// Input (stdin): {"templates": [{"id": "...", "text": "..."}]}
// Output (stdout): {"results": [{"id", "error", "line", "fields", "funcs"}]}
//
// "fields" are the paths read from the template's root data (".Labels.service" is
// "Labels.service"; `index .Labels "x"` is "Labels.x"); paths read where dot is not the
// root (inside range or with, or in a {{define}}) are not reported; `$.X` in the template
// itself is. "funcs" maps each function the template calls that text/template does not
// define to the argument counts it is called with; the template is then parsed again by
// text/template itself with those functions declared as stubs of that arity.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

type input struct {
	Templates []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"templates"`
}

type result struct {
	ID     string           `json:"id"`
	Error  string           `json:"error,omitempty"`
	Line   int              `json:"line,omitempty"`
	Fields []string         `json:"fields"`
	Funcs  map[string][]int `json:"funcs"`
}

// The functions text/template defines itself.
var builtins = map[string]bool{
	"and": true, "call": true, "html": true, "index": true, "slice": true, "js": true,
	"len": true, "not": true, "or": true, "print": true, "printf": true, "println": true,
	"urlquery": true, "eq": true, "ge": true, "gt": true, "le": true, "lt": true, "ne": true,
}

var errorAt = regexp.MustCompile(`^template: t[0-9]+:([0-9]+):(?:[0-9]+:)? (.*)$`)

type walker struct {
	fields map[string]bool
	funcs  map[string]map[int]bool
	main   bool // walking the template itself, not a {{define}}: `$` is the root data
}

func (w *walker) field(path []string) {
	if len(path) > 0 {
		w.fields[strings.Join(path, ".")] = true
	}
}

func (w *walker) list(l *parse.ListNode, root bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, root)
	}
}

func (w *walker) node(n parse.Node, root bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		w.pipe(n.Pipe, root)
	case *parse.IfNode:
		w.pipe(n.Pipe, root)
		w.list(n.List, root)
		w.list(n.ElseList, root)
	case *parse.RangeNode:
		w.pipe(n.Pipe, root)
		w.list(n.List, false)
		w.list(n.ElseList, root)
	case *parse.WithNode:
		w.pipe(n.Pipe, root)
		w.list(n.List, false)
		w.list(n.ElseList, root)
	case *parse.TemplateNode:
		w.pipe(n.Pipe, root)
	case *parse.ListNode:
		w.list(n, root)
	}
}

func (w *walker) pipe(p *parse.PipeNode, root bool) {
	if p == nil {
		return
	}
	for i, cmd := range p.Cmds {
		piped := 0
		if i > 0 {
			piped = 1 // the previous command's value is the last argument
		}
		if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
			if id.Ident == "index" && len(cmd.Args) == 3 && root {
				if f, ok := cmd.Args[1].(*parse.FieldNode); ok {
					if s, ok := cmd.Args[2].(*parse.StringNode); ok {
						w.field(append(append([]string{}, f.Ident...), s.Text))
					}
				}
			}
			if !builtins[id.Ident] {
				if w.funcs[id.Ident] == nil {
					w.funcs[id.Ident] = map[int]bool{}
				}
				w.funcs[id.Ident][len(cmd.Args)-1+piped] = true
			}
		}
		for _, arg := range cmd.Args {
			w.arg(arg, root)
		}
	}
}

func (w *walker) arg(n parse.Node, root bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if root {
			w.field(n.Ident)
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" && w.main {
			w.field(n.Ident[1:])
		}
	case *parse.PipeNode:
		w.pipe(n, root)
	case *parse.ChainNode:
		w.arg(n.Node, root)
	}
}

// stub is a function of `arity` arguments (variadic where calls disagree) returning "".
func stub(arities map[int]bool) any {
	anyType := reflect.TypeOf((*any)(nil)).Elem()
	if len(arities) != 1 {
		t := reflect.FuncOf([]reflect.Type{reflect.SliceOf(anyType)}, []reflect.Type{anyType}, true)
		return reflect.MakeFunc(t, func([]reflect.Value) []reflect.Value {
			return []reflect.Value{reflect.Zero(anyType)}
		}).Interface()
	}
	var n int
	for k := range arities {
		n = k
	}
	in := make([]reflect.Type, n)
	for i := range in {
		in[i] = anyType
	}
	t := reflect.FuncOf(in, []reflect.Type{anyType}, false)
	return reflect.MakeFunc(t, func([]reflect.Value) []reflect.Value {
		return []reflect.Value{reflect.Zero(anyType)}
	}).Interface()
}

func check(index int, id, text string) result {
	name := "t" + strconv.Itoa(index)
	out := result{ID: id, Fields: []string{}, Funcs: map[string][]int{}}
	fail := func(err error) result {
		out.Error = err.Error()
		if m := errorAt.FindStringSubmatch(out.Error); m != nil {
			out.Line, _ = strconv.Atoi(m[1])
			out.Error = m[2]
		}
		return out
	}
	tree := parse.New(name)
	tree.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := tree.Parse(text, "", "", trees); err != nil {
		return fail(err)
	}
	w := &walker{fields: map[string]bool{}, funcs: map[string]map[int]bool{}}
	for tname, t := range trees {
		w.main = tname == name
		w.list(t.Root, w.main)
	}
	stubs := template.FuncMap{}
	for fn, arities := range w.funcs {
		stubs[fn] = stub(arities)
		for a := range arities {
			out.Funcs[fn] = append(out.Funcs[fn], a)
		}
		sort.Ints(out.Funcs[fn])
	}
	if _, err := template.New(name).Funcs(stubs).Parse(text); err != nil {
		return fail(err)
	}
	for f := range w.fields {
		out.Fields = append(out.Fields, f)
	}
	sort.Strings(out.Fields)
	return out
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintf(os.Stderr, "gotemplate-check: stdin is not the expected JSON: %v\n", err)
		os.Exit(2)
	}
	results := make([]result, 0, len(in.Templates))
	for i, t := range in.Templates {
		results = append(results, check(i, t.ID, t.Text))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(map[string]any{"results": results}); err != nil {
		fmt.Fprintf(os.Stderr, "gotemplate-check: %v\n", err)
		os.Exit(2)
	}
}
