package ratelimit

// WithPrefix is s under its own prefix, so a test's Reset leaves the keys
// of tests running beside it in the same Redis.
func (s *Redis) WithPrefix(p string) *Redis {
	c := *s
	c.prefix = p
	return &c
}
