package taskline

// A small WebSocket client (RFC 6455), enough for /ws, since the standard library has none:
// the opening handshake with its Sec-WebSocket-Key/Accept check, masked client frames, text
// and binary messages (fragmented ones too), close, ping and pong. No extensions and no
// subprotocols are offered, so a server that answers with either is refused.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes (RFC 6455 §7.4.1).
const (
	closeNormal        = 1000
	closeProtocolError = 1002
	closeNoStatus      = 1005
	closeInvalidData   = 1007
	closeTooBig        = 1009
)

const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// CloseError is a WebSocket closed by its peer, with the code and reason the peer gave
// (code 1005 when it gave none).
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("taskline: websocket closed: %d %s", e.Code, e.Reason)
}

// errProtocol: the peer broke RFC 6455; the connection is closed with 1002.
var errProtocol = errors.New("taskline: websocket protocol error")

// wsConn is the client end of one WebSocket. One goroutine reads; any may write.
type wsConn struct {
	conn       net.Conn
	reader     *bufio.Reader
	maxMessage int

	writing   sync.Mutex
	closeSent bool
}

// dialWebSocket opens a WebSocket to rawURL (ws://, wss://, or http(s):// for the same),
// sending header with the handshake. A refusal (any answer but 101) with SPEC's error body
// is returned as an *Error; ctx bounds the connect and the handshake.
func dialWebSocket(ctx context.Context, rawURL string, header http.Header) (*wsConn, error) {
	target, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("taskline: websocket address: %w", err)
	}
	secure := false
	switch target.Scheme {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, fmt.Errorf("taskline: websocket address %q: the scheme must be ws, wss, http or https", rawURL)
	}
	address := target.Host
	if target.Port() == "" {
		address = net.JoinHostPort(target.Hostname(), map[bool]string{false: "80", true: "443"}[secure])
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", address)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("taskline: websocket connect: %w", err)
	}
	// The handshake obeys ctx: its deadline, and its cancellation through an expired deadline.
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	watching := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-ctx.Done():
			_ = conn.SetDeadline(time.Unix(1, 0))
		case <-watching:
		}
	}()
	ws, err := handshake(ctx, conn, target, secure, header)
	close(watching)
	<-watched
	if ctx.Err() != nil { // whatever failed, it failed for the deadline set above
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = ws.conn.SetDeadline(time.Time{})
	return ws, nil
}

func handshake(ctx context.Context, conn net.Conn, target *url.URL, secure bool, header http.Header) (*wsConn, error) {
	if secure {
		tlsConn := tls.Client(conn, &tls.Config{ServerName: target.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("taskline: websocket TLS: %w", err)
		}
		conn = tlsConn
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	key := base64.StdEncoding.EncodeToString(nonce)
	var request strings.Builder
	fmt.Fprintf(&request, "GET %s HTTP/1.1\r\nHost: %s\r\n", target.RequestURI(), target.Host)
	request.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&request, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if err := header.Write(&request); err != nil {
		return nil, err
	}
	request.WriteString("\r\n")
	if _, err := io.WriteString(conn, request.String()); err != nil {
		return nil, fmt.Errorf("taskline: websocket handshake: %w", err)
	}
	reader := bufio.NewReader(conn)
	response, err := http.ReadResponse(reader, &http.Request{Method: "GET"})
	if err != nil {
		return nil, fmt.Errorf("taskline: websocket handshake: %w", err)
	}
	if response.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(response.Body, 64<<10))
		response.Body.Close()
		return nil, errorFromResponse(response.StatusCode, body, response.Header.Get("Retry-After"))
	}
	if err := checkUpgrade(response.Header, key); err != nil {
		return nil, err
	}
	// The reader may hold the first frames already: it stays the connection's reader.
	return &wsConn{conn: conn, reader: reader, maxMessage: 16 << 20}, nil
}

// acceptKey is the Sec-WebSocket-Accept a server must answer to key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	digest := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(digest[:])
}

func checkUpgrade(header http.Header, key string) error {
	switch {
	case !strings.EqualFold(header.Get("Upgrade"), "websocket"):
		return fmt.Errorf("%w: the answer's Upgrade is %q, not websocket", errProtocol, header.Get("Upgrade"))
	case !headerHasToken(header, "Connection", "upgrade"):
		return fmt.Errorf("%w: the answer's Connection has no upgrade", errProtocol)
	case header.Get("Sec-WebSocket-Accept") != acceptKey(key):
		return fmt.Errorf("%w: Sec-WebSocket-Accept does not match the key sent", errProtocol)
	case header.Get("Sec-WebSocket-Extensions") != "":
		return fmt.Errorf("%w: the server chose an extension none was offered", errProtocol)
	case header.Get("Sec-WebSocket-Protocol") != "":
		return fmt.Errorf("%w: the server chose a subprotocol none was offered", errProtocol)
	}
	return nil
}

func headerHasToken(header http.Header, name, token string) bool {
	for _, value := range header.Values(name) {
		for _, part := range strings.Split(value, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// ReadMessage returns the next text or binary message, joined from its fragments. It
// answers pings with pongs and skips pongs on the way. A close from the peer is answered
// and returned as a *CloseError; a frame that breaks the protocol closes the connection
// (1002, or 1007 for text that is not UTF-8, 1009 for a message over the size limit).
func (c *wsConn) ReadMessage() (opcode int, message []byte, err error) {
	opcode = -1
	for {
		fin, op, payload, err := c.readFrame()
		if err != nil {
			return 0, nil, err
		}
		switch op {
		case opPing:
			if err := c.writeFrame(opPong, payload); err != nil {
				return 0, nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			return 0, nil, c.closedByPeer(payload)
		case opText, opBinary:
			if opcode != -1 {
				return 0, nil, c.fail(closeProtocolError, "a new message inside a fragmented one")
			}
			opcode, message = op, payload
		case opContinuation:
			if opcode == -1 {
				return 0, nil, c.fail(closeProtocolError, "a continuation without a message")
			}
			if len(message)+len(payload) > c.maxMessage {
				return 0, nil, c.fail(closeTooBig, "message too big")
			}
			message = append(message, payload...)
		default:
			return 0, nil, c.fail(closeProtocolError, fmt.Sprintf("reserved opcode %#x", op))
		}
		if fin {
			if opcode == opText && !utf8.Valid(message) {
				return 0, nil, c.fail(closeInvalidData, "text that is not UTF-8")
			}
			return opcode, message, nil
		}
	}
}

func (c *wsConn) readFrame() (fin bool, op int, payload []byte, err error) {
	var head [2]byte
	if _, err := io.ReadFull(c.reader, head[:]); err != nil {
		return false, 0, nil, err
	}
	fin, op = head[0]&0x80 != 0, int(head[0]&0x0f)
	if head[0]&0x70 != 0 {
		return false, 0, nil, c.fail(closeProtocolError, "reserved bits set without an extension")
	}
	if head[1]&0x80 != 0 {
		return false, 0, nil, c.fail(closeProtocolError, "a masked frame from the server")
	}
	length := uint64(head[1] & 0x7f)
	switch length {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.reader, ext[:]); err != nil {
			return false, 0, nil, err
		}
		length = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.reader, ext[:]); err != nil {
			return false, 0, nil, err
		}
		length = binary.BigEndian.Uint64(ext[:])
	}
	if op >= opClose && (length > 125 || !fin) {
		return false, 0, nil, c.fail(closeProtocolError, "a control frame fragmented or over 125 bytes")
	}
	if length > uint64(c.maxMessage) {
		return false, 0, nil, c.fail(closeTooBig, "message too big")
	}
	payload = make([]byte, length)
	if _, err := io.ReadFull(c.reader, payload); err != nil {
		return false, 0, nil, err
	}
	return fin, op, payload, nil
}

// closedByPeer answers a close frame with one of the same code (RFC 6455 §5.5.1) and closes.
func (c *wsConn) closedByPeer(payload []byte) error {
	closed := &CloseError{Code: closeNoStatus}
	switch {
	case len(payload) == 1:
		return c.fail(closeProtocolError, "a close frame of one byte")
	case len(payload) >= 2:
		closed.Code = int(binary.BigEndian.Uint16(payload))
		closed.Reason = string(payload[2:])
	}
	echo := closed.Code
	if echo == closeNoStatus {
		echo = closeNormal
	}
	_ = c.WriteClose(echo, "")
	c.conn.Close()
	return closed
}

// fail closes the connection for a broken frame and returns the error saying so.
func (c *wsConn) fail(code int, reason string) error {
	_ = c.WriteClose(code, reason)
	c.conn.Close()
	return fmt.Errorf("%w: %s", errProtocol, reason)
}

// WriteMessage sends one text message (unfragmented, masked as a client must).
func (c *wsConn) WriteMessage(text string) error {
	return c.writeFrame(opText, []byte(text))
}

// WriteClose sends a close frame, once; later calls do nothing.
func (c *wsConn) WriteClose(code int, reason string) error {
	c.writing.Lock()
	sent := c.closeSent
	c.closeSent = true
	c.writing.Unlock()
	if sent {
		return nil
	}
	payload := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(payload, uint16(code))
	return c.writeFrameLocked(opClose, append(payload, reason...), true)
}

// Close closes the connection without a closing handshake (after WriteClose, or on failure).
func (c *wsConn) Close() error { return c.conn.Close() }

func (c *wsConn) writeFrame(op int, payload []byte) error {
	return c.writeFrameLocked(op, payload, false)
}

func (c *wsConn) writeFrameLocked(op int, payload []byte, closing bool) error {
	c.writing.Lock()
	defer c.writing.Unlock()
	if c.closeSent && !closing {
		return errors.New("taskline: websocket closing")
	}
	frame := make([]byte, 0, 14+len(payload))
	frame = append(frame, 0x80|byte(op)) // FIN: this client never fragments
	switch n := len(payload); {
	case n <= 125:
		frame = append(frame, 0x80|byte(n))
	case n <= 0xffff:
		frame = append(frame, 0x80|126, byte(n>>8), byte(n))
	default:
		frame = append(frame, 0x80|127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	var mask [4]byte
	if _, err := rand.Read(mask[:]); err != nil {
		return err
	}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	_, err := c.conn.Write(frame)
	return err
}
