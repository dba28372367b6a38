package taskline

// The WebSocket client against a server written here, frame by frame, so each rule of
// RFC 6455 it keeps is seen on the wire: these tests need no Taskline server.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// peer is the server end of one test connection.
type peer struct {
	t      *testing.T
	conn   net.Conn
	reader *bufio.Reader
}

// writeFrame sends a frame as a server does: unmasked.
func (p *peer) writeFrame(fin bool, op byte, payload []byte) {
	p.writeRaw(serverFrame(fin, op, payload))
}

func (p *peer) writeRaw(frame []byte) {
	if _, err := p.conn.Write(frame); err != nil {
		p.t.Errorf("server write: %v", err)
	}
}

func serverFrame(fin bool, op byte, payload []byte) []byte {
	first := op
	if fin {
		first |= 0x80
	}
	frame := []byte{first}
	switch n := len(payload); {
	case n <= 125:
		frame = append(frame, byte(n))
	case n <= 0xffff:
		frame = append(frame, 126, byte(n>>8), byte(n))
	default:
		frame = append(frame, 127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	return append(frame, payload...)
}

// readFrame reads a client frame, which must be masked, and unmasks it.
func (p *peer) readFrame() (fin bool, op byte, payload []byte) {
	p.t.Helper()
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var head [2]byte
	if _, err := io.ReadFull(p.reader, head[:]); err != nil {
		p.t.Fatalf("server read: %v", err)
	}
	if head[1]&0x80 == 0 {
		p.t.Fatalf("a client frame without a mask (opcode %#x)", head[0]&0x0f)
	}
	length := uint64(head[1] & 0x7f)
	switch length {
	case 126:
		var ext [2]byte
		_, _ = io.ReadFull(p.reader, ext[:])
		length = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, _ = io.ReadFull(p.reader, ext[:])
		length = binary.BigEndian.Uint64(ext[:])
	}
	var mask [4]byte
	if _, err := io.ReadFull(p.reader, mask[:]); err != nil {
		p.t.Fatalf("server read: %v", err)
	}
	payload = make([]byte, length)
	if _, err := io.ReadFull(p.reader, payload); err != nil {
		p.t.Fatalf("server read: %v", err)
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return head[0]&0x80 != 0, head[0] & 0x0f, payload
}

// expectClose reads the client's close frame and checks its code.
func (p *peer) expectClose(code int) {
	p.t.Helper()
	_, op, payload := p.readFrame()
	if op != opClose || len(payload) < 2 || int(binary.BigEndian.Uint16(payload)) != code {
		p.t.Fatalf("want a close %d from the client, got opcode %#x payload %q", code, op, payload)
	}
}

// wsServer serves one handler per connection after a correct handshake (or answer, when
// it is not nil, writes the handshake's answer itself).
func wsServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request) bool, serve func(*peer, *http.Request)) string {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answer != nil && !answer(w, r) {
			return
		}
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		if answer == nil {
			key := r.Header.Get("Sec-WebSocket-Key")
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n")
			_ = rw.Flush()
		}
		serve(&peer{t: t, conn: conn, reader: rw.Reader}, r)
	}))
	t.Cleanup(server.Close)
	return "ws" + strings.TrimPrefix(server.URL, "http") + "/ws"
}

func dial(t *testing.T, url string) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := dialWebSocket(ctx, url, http.Header{"Authorization": {"Bearer k"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func TestHandshakeSendsAKeyAndTheHeadersAndChecksTheAccept(t *testing.T) {
	seen := make(chan *http.Request, 1)
	url := wsServer(t, nil, func(p *peer, r *http.Request) {
		seen <- r
		p.writeFrame(true, opText, []byte("hi"))
		p.expectClose(closeNormal)
	})
	ws := dial(t, url+"?since=1-0")
	request := <-seen
	for name, want := range map[string]string{
		"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Authorization": "Bearer k",
	} {
		if got := request.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if request.URL.RawQuery != "since=1-0" {
		t.Errorf("query %q", request.URL.RawQuery)
	}
	if nonce, err := base64.StdEncoding.DecodeString(request.Header.Get("Sec-WebSocket-Key")); err != nil || len(nonce) != 16 {
		t.Errorf("Sec-WebSocket-Key %q is not 16 bytes in base64", request.Header.Get("Sec-WebSocket-Key"))
	}
	op, message, err := ws.ReadMessage()
	if err != nil || op != opText || string(message) != "hi" {
		t.Fatalf("ReadMessage: %d %q %v", op, message, err)
	}
	if err := ws.WriteClose(closeNormal, ""); err != nil {
		t.Fatal(err)
	}
}

func TestTheAcceptKeyOfRFC6455(t *testing.T) {
	// RFC 6455 §1.3's own example.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("acceptKey: %q", got)
	}
}

func TestAWrongAcceptIsRefused(t *testing.T) {
	url := wsServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Sec-WebSocket-Accept", acceptKey("another key"))
		w.WriteHeader(http.StatusSwitchingProtocols)
		return false
	}, nil)
	_, err := dialWebSocket(context.Background(), url, nil)
	if !errors.Is(err, errProtocol) || !strings.Contains(err.Error(), "Sec-WebSocket-Accept") {
		t.Fatalf("want the accept refused, got %v", err)
	}
}

func TestARefusalBeforeTheUpgradeIsAnError(t *testing.T) {
	url := wsServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error": {"code": "rate_limited", "message": "slow down", "details": null}}`))
		return false
	}, nil)
	_, err := dialWebSocket(context.Background(), url, nil)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != 429 || apiErr.Code != CodeRateLimited || apiErr.RetryAfter != 2*time.Second {
		t.Fatalf("want a 429 rate_limited *Error with Retry-After 2s, got %#v", err)
	}
}

func TestFragmentsAreJoinedAndPingsBetweenThemAnswered(t *testing.T) {
	url := wsServer(t, nil, func(p *peer, _ *http.Request) {
		p.writeFrame(false, opText, []byte("hel"))
		p.writeFrame(true, opPing, []byte("p1"))
		p.writeFrame(false, opContinuation, []byte("lo "))
		p.writeFrame(true, opPong, []byte("unasked"))
		p.writeFrame(true, opContinuation, []byte("world"))
		if _, op, payload := p.readFrame(); op != opPong || string(payload) != "p1" {
			t.Errorf("want a pong p1, got opcode %#x %q", op, payload)
		}
		p.expectClose(closeNormal)
	})
	ws := dial(t, url)
	op, message, err := ws.ReadMessage()
	if err != nil || op != opText || string(message) != "hello world" {
		t.Fatalf("ReadMessage: %d %q %v", op, message, err)
	}
	_ = ws.WriteClose(closeNormal, "")
}

func TestEveryLengthEncodingBothWaysWithMaskedClientFrames(t *testing.T) {
	sizes := []int{0, 125, 126, 200, 0xffff, 70000}
	url := wsServer(t, nil, func(p *peer, _ *http.Request) {
		for _, size := range sizes {
			p.writeFrame(true, opText, bytes.Repeat([]byte("a"), size))
			fin, op, payload := p.readFrame() // readFrame fails the test on an unmasked frame
			if !fin || op != opText || !bytes.Equal(payload, bytes.Repeat([]byte("b"), size)) {
				t.Errorf("size %d: the client's frame came back wrong (fin %v, opcode %#x, %d bytes)", size, fin, op, len(payload))
			}
		}
		p.expectClose(closeNormal)
	})
	ws := dial(t, url)
	for _, size := range sizes {
		_, message, err := ws.ReadMessage()
		if err != nil || len(message) != size {
			t.Fatalf("size %d: %d bytes, %v", size, len(message), err)
		}
		if err := ws.WriteMessage(strings.Repeat("b", size)); err != nil {
			t.Fatal(err)
		}
	}
	_ = ws.WriteClose(closeNormal, "")
}

func TestACloseFromTheServerIsEchoedAndReturned(t *testing.T) {
	url := wsServer(t, nil, func(p *peer, _ *http.Request) {
		payload := binary.BigEndian.AppendUint16(nil, 4401)
		p.writeFrame(true, opClose, append(payload, "the API key was refused"...))
		p.expectClose(4401)
	})
	ws := dial(t, url)
	_, _, err := ws.ReadMessage()
	var closed *CloseError
	if !errors.As(err, &closed) || closed.Code != 4401 || closed.Reason != "the API key was refused" {
		t.Fatalf("want a CloseError 4401, got %v", err)
	}
}

func TestACloseWithoutACodeIsAnsweredWithNormal(t *testing.T) {
	url := wsServer(t, nil, func(p *peer, _ *http.Request) {
		p.writeFrame(true, opClose, nil)
		p.expectClose(closeNormal)
	})
	ws := dial(t, url)
	_, _, err := ws.ReadMessage()
	var closed *CloseError
	if !errors.As(err, &closed) || closed.Code != closeNoStatus {
		t.Fatalf("want a CloseError 1005, got %v", err)
	}
}

func TestFramesThatBreakTheProtocolCloseTheConnection(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  int
	}{
		{"a masked frame", append([]byte{0x81, 0x82, 1, 2, 3, 4}, 'h'^1, 'i'^2), closeProtocolError},
		{"reserved bits", []byte{0xC1, 0x00}, closeProtocolError},
		{"a reserved opcode", serverFrame(true, 0x3, nil), closeProtocolError},
		{"a continuation first", serverFrame(true, opContinuation, []byte("x")), closeProtocolError},
		{"a fragmented ping", serverFrame(false, opPing, nil), closeProtocolError},
		{"a long ping", serverFrame(true, opPing, bytes.Repeat([]byte("p"), 126)), closeProtocolError},
		{"text that is not UTF-8", serverFrame(true, opText, []byte{0xff, 0xfe}), closeInvalidData},
	}
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			url := wsServer(t, nil, func(p *peer, _ *http.Request) {
				p.writeRaw(c.frame)
				p.expectClose(c.code)
			})
			ws := dial(t, url)
			if _, _, err := ws.ReadMessage(); !errors.Is(err, errProtocol) {
				t.Fatalf("want a protocol error, got %v", err)
			}
		})
	}
}

func TestAMessageOverTheLimitIsRefused(t *testing.T) {
	url := wsServer(t, nil, func(p *peer, _ *http.Request) {
		p.writeFrame(false, opText, bytes.Repeat([]byte("a"), 60))
		p.writeFrame(true, opContinuation, bytes.Repeat([]byte("a"), 60))
		p.expectClose(closeTooBig)
	})
	ws := dial(t, url)
	ws.maxMessage = 100
	if _, _, err := ws.ReadMessage(); !errors.Is(err, errProtocol) {
		t.Fatalf("want a protocol error, got %v", err)
	}
}

func TestTheHandshakeObeysItsContext(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	go func() { // accepts, never answers
		conn, err := listener.Accept()
		if err == nil {
			defer conn.Close()
			_, _ = io.Copy(io.Discard, conn)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := dialWebSocket(ctx, "ws://"+listener.Addr().String()+"/ws", nil)
		result <- err
	}()
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}
