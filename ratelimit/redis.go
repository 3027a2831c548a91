package ratelimit

import (
	"context"
	"fmt"
	"time"

	redisstore "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"
)

// Redis is the Store in Redis (AGORA_REDIS_URL): gofiber/storage/redis for
// the values, a script for the counters. Every key starts with prefix, so
// several installations can share one Redis and Reset leaves others' keys.
type Redis struct {
	kv     *redisstore.Storage
	conn   redis.UniversalClient
	prefix string
}

// redisPrefix starts every key Agora writes to Redis.
const redisPrefix = "agora:"

// OpenRedis connects to the Redis at url (redis://[user:password@]host:port/db
// or rediss://…) and checks that it answers.
func OpenRedis(ctx context.Context, url string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	conn := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := conn.Ping(ctx).Err(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("redis at %s: %w", opts.Addr, err)
	}
	// NewFromConnection, not New: New panics when Redis is unreachable.
	return &Redis{kv: redisstore.NewFromConnection(conn), conn: conn, prefix: redisPrefix}, nil
}

func (s *Redis) Get(key string) ([]byte, error) { return s.kv.Get(s.prefix + key) }
func (s *Redis) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	return s.kv.Set(s.prefix+key, val, exp)
}
func (s *Redis) Delete(key string) error { return s.kv.Delete(s.prefix + key) }
func (s *Redis) Close() error            { return s.kv.Close() }

// Reset deletes the prefix's keys only (the storage's own Reset flushes the
// whole Redis database).
func (s *Redis) Reset() error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	iter := s.conn.Scan(ctx, 0, s.prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := s.conn.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

// hitScript counts and starts the window's expiry in one step: INCRBY then
// PEXPIRE from a client would leave a counter without expiry if the client
// died between them.
var hitScript = redis.NewScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`)

// undoScript takes a hit back only from a live counter.
var undoScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0`)

func (s *Redis) Hit(ctx context.Context, key string, window time.Duration, by int) (int, time.Time, error) {
	res, err := hitScript.Run(ctx, s.conn, []string{s.prefix + key}, window.Milliseconds(), by).Int64Slice()
	if err != nil {
		return 0, time.Time{}, err
	}
	return int(res[0]), time.Now().Add(time.Duration(res[1]) * time.Millisecond), nil
}

func (s *Redis) Undo(ctx context.Context, key string) error {
	return undoScript.Run(ctx, s.conn, []string{s.prefix + key}).Err()
}

// Purge does nothing: Redis expires keys itself.
func (s *Redis) Purge(context.Context) error { return nil }
