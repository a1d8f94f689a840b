package devidp

import (
	"errors"
	"sync"
)

// directory is the demo users, safe for concurrent use: tests change a
// person at the IdP (a group removed) while the broker runs.
type directory struct {
	mu sync.RWMutex
	m  map[string]User
}

func newDirectory(users []User) (*directory, error) {
	d := &directory{m: map[string]User{}}
	for _, u := range users {
		if u.Username == "" || u.Password == "" {
			return nil, errors.New("devidp: every user needs a username and a password")
		}
		d.m[u.Username] = u
	}
	return d, nil
}

func (d *directory) get(name string) (User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u, ok := d.m[name]
	return u, ok
}

// put replaces the user of the same Username; ok=false if there is none.
func (d *directory) put(u User) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.m[u.Username]; !ok {
		return false
	}
	d.m[u.Username] = u
	return true
}

// UpdateUser changes a person at the IdP, as an administrator of a real
// IdP would (a group removed, a role added): sign-ins from now on carry
// the new attributes. It reports false when there is no such user.
func (p *IdP) UpdateUser(u User) bool { return p.users.put(u) }

// UpdateUser changes a person at the OP (see IdP.UpdateUser).
func (o *OP) UpdateUser(u User) bool { return o.users.put(u) }
