package app

import (
	"io"
	"net"
	"sync"
	"time"
)

// Linger wraps ln so that the server closes connections the way nginx and
// Apache do (a lingering close): it shuts its side for writing, so the
// answer already written goes out followed by FIN, then reads and drops
// what the client is still sending, for a bounded time and size, before it
// closes the socket. Without it, refusing a body over the limit (413) closed
// a socket holding unread bytes, the kernel answered the client's next
// segment with a reset, and the reset destroyed the 413 before the client
// read it: a dropped connection instead of an answer.
func Linger(ln net.Listener) net.Listener { return lingerListener{ln} }

const (
	lingerTime  = 5 * time.Second
	lingerBytes = 64 << 20
	// lingerMax bounds the connections draining at once (each a goroutine
	// and a socket for up to lingerTime); past it a connection closes at
	// once, as without Linger, so a client can't hold sockets this way.
	lingerMax = 256
)

var lingering = make(chan struct{}, lingerMax)

type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return &lingerConn{TCPConn: tc}, nil
	}
	return c, nil
}

type lingerConn struct {
	*net.TCPConn
	once sync.Once
}

// Close returns at once; the draining runs on its own and ends by itself.
func (c *lingerConn) Close() error {
	c.once.Do(func() {
		select {
		case lingering <- struct{}{}:
		default:
			c.TCPConn.Close()
			return
		}
		if err := c.CloseWrite(); err != nil {
			c.TCPConn.Close()
			<-lingering
			return
		}
		go func() {
			defer func() { <-lingering }()
			c.SetReadDeadline(time.Now().Add(lingerTime))
			io.CopyN(io.Discard, c.TCPConn, lingerBytes)
			c.TCPConn.Close()
		}()
	})
	return nil
}
