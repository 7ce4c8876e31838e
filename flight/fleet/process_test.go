package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Multi-process tests: the test binary re-executes itself as worker
// processes (TestMain runs runWorker when FLEET_WORKER names a role), which
// share the tests' Redis. Workers talk to the test on stdout (one event per
// line) and take orders on stdin; what fn does is counted by the test, not
// by the workers.

const (
	workerEnv = "FLEET_WORKER"       // the role
	addrEnv   = "FLEET_WORKER_REDIS" // the Redis address
	prefixEnv = "FLEET_WORKER_PREFIX"
	ttlEnv    = "FLEET_WORKER_TTL"
	argEnv    = "FLEET_WORKER_ARGS" // role-specific, JSON
)

// runWorker runs this binary as a worker of a multi-process test.
func runWorker(role string) int {
	ttl, _ := time.ParseDuration(os.Getenv(ttlEnv))
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(addrEnv), ContextTimeoutEnabled: true})
	defer rdb.Close()
	opts := []fleet.Option{fleet.WithPrefix(os.Getenv(prefixEnv)), fleet.WithLeaseTTL(ttl)}
	switch role {
	case "hot":
		return hotWorker(rdb, opts)
	case "stress":
		return stressWorker(rdb, opts)
	case "warm":
		return warmWorker(rdb, opts) // refresh_process_test.go
	case "refreshpanic":
		return refreshPanicWorker(rdb, opts)
	}
	fmt.Fprintln(os.Stderr, "unknown worker role", role)
	return 2
}

// say writes one event line for the test.
var sayMu sync.Mutex

func say(format string, args ...any) {
	sayMu.Lock()
	defer sayMu.Unlock()
	fmt.Printf(format+"\n", args...)
}

// hotWorker asks once for the key "hot". As a leader, its fn says "start"
// and waits for "release" on stdin; as a follower it says "waiting". It
// says "answer" with what Do returned.
func hotWorker(rdb *redis.Client, opts []fleet.Option) int {
	g := fleet.New[string](rdb, opts...)
	defer g.Close()
	fleet.SetEventHook(g, func(ev, _ string) {
		if ev == "waiting" {
			say("waiting")
		}
	})
	release := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "release" {
				close(release)
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pid := strconv.Itoa(os.Getpid())
	v, err, shared := g.Do(ctx, "hot", func(ctx context.Context) (string, error) {
		say("start %s", pid)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "from " + pid, nil
	})
	say("answer %s|%v|%v", v, err, shared)
	return 0
}

// worker is a worker process seen from the test.
type worker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startWorker starts a worker process in role on Redis addr; its stdout
// lines go to events, prefixed by its pid.
func startWorker(t *testing.T, role, addr string, ttl time.Duration, args any, events chan<- string) *worker {
	t.Helper()
	a, err := json.Marshal(args)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+role, addrEnv+"="+addr, prefixEnv+"="+prefix(t),
		ttlEnv+"="+ttl.String(), argEnv+"="+string(a))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	w := &worker{cmd: cmd, stdin: stdin}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			events <- fmt.Sprintf("%d %s", cmd.Process.Pid, sc.Text())
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
	})
	return w
}

// event is a worker's event line: the worker's pid, the word, the rest.
type event struct {
	pid  int
	word string
	rest string
}

func parse(line string) event {
	f := strings.SplitN(line, " ", 3)
	pid, _ := strconv.Atoi(f[0])
	e := event{pid: pid, word: f[1]}
	if len(f) > 2 {
		e.rest = f[2]
	}
	return e
}

// FL1 with processes: four processes ask for one hot key at once; fn runs
// once, and every process receives its value.
func TestProcessesOneCall(t *testing.T) {
	const procs = 4
	ctx := within(t, 60*time.Second)
	events := make(chan string, 100)
	workers := map[int]*worker{}
	for range procs {
		w := startWorker(t, "hot", redisAddr, 10*time.Second, nil, events)
		workers[w.cmd.Process.Pid] = w
	}
	starts, waiting := 0, 0
	for starts < 1 || waiting < procs-1 {
		switch e := parse(recv(t, ctx, events, "workers")); e.word {
		case "start":
			starts++
		case "waiting":
			waiting++
		default:
			t.Fatalf("unexpected event %+v", e)
		}
	}
	for _, w := range workers {
		_, _ = io.WriteString(w.stdin, "release\n")
	}
	var value string
	for range procs {
		e := parse(recv(t, ctx, events, "answers"))
		require.Equal(t, "answer", e.word, "no second start")
		f := strings.Split(e.rest, "|")
		require.Equal(t, "<nil>", f[1])
		assert.Equal(t, "true", f[2], "shared")
		if value == "" {
			value = f[0]
		}
		assert.Equal(t, value, f[0])
	}
	assert.Equal(t, 1, starts)
}

// FL4 with processes: the leader process is killed (SIGKILL) in the middle
// of fn; a follower process takes over within the lease TTL plus one
// renewal interval, and every surviving process gets an answer.
func TestLeaderProcessKilled(t *testing.T) {
	const procs, ttl = 4, 600 * time.Millisecond
	ctx := within(t, 60*time.Second)
	events := make(chan string, 100)
	workers := map[int]*worker{}
	for range procs {
		w := startWorker(t, "hot", redisAddr, ttl, nil, events)
		workers[w.cmd.Process.Pid] = w
	}
	leader, waiting := 0, 0
	for leader == 0 || waiting < procs-1 {
		switch e := parse(recv(t, ctx, events, "workers")); e.word {
		case "start":
			leader = e.pid
		case "waiting":
			waiting++
		}
	}
	require.NoError(t, workers[leader].cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	var next event
	for next.word != "start" {
		next = parse(recv(t, ctx, events, "a takeover"))
	}
	took := time.Since(killed)
	t.Logf("takeover %v after the kill (TTL %v)", took, ttl)
	assert.Less(t, took, ttl+ttl/3+500*time.Millisecond, "within TTL + one renewal interval (+ slack)")
	for pid, w := range workers {
		if pid != leader {
			_, _ = io.WriteString(w.stdin, "release\n")
		}
	}
	for range procs - 1 {
		e := parse(recv(t, ctx, events, "answers"))
		for e.word == "waiting" {
			e = parse(recv(t, ctx, events, "answers"))
		}
		require.Equal(t, "answer", e.word)
		assert.Equal(t, fmt.Sprintf("from %d|<nil>", next.pid), e.rest[:strings.LastIndex(e.rest, "|")])
	}
}

// stressArgs configure a stress worker.
type stressArgs struct {
	Ops, Goroutines, Keys int
	Referee               string // where fn reports its start and end
}

// stressReport is what a stress worker says at its end.
type stressReport struct {
	Ops, Answered, Values, CtxErrors, Wrong int
	Stats                                   fleet.Stats
}

// stressWorker runs Ops calls over Keys keys from Goroutines goroutines;
// one call in ten has a deadline short enough to leave early. fn tells the
// referee when it starts and ends (and waits for its acknowledgement).
func stressWorker(rdb *redis.Client, opts []fleet.Option) int {
	var a stressArgs
	if err := json.Unmarshal([]byte(os.Getenv(argEnv)), &a); err != nil {
		panic(err)
	}
	ref, err := net.Dial("tcp", a.Referee)
	if err != nil {
		panic(err)
	}
	defer ref.Close()
	var refMu sync.Mutex
	refRd := bufio.NewReader(ref)
	tell := func(what, key string) {
		refMu.Lock()
		defer refMu.Unlock()
		if _, err := fmt.Fprintf(ref, "%s %s\n", what, key); err != nil {
			panic(err)
		}
		if _, err := refRd.ReadString('\n'); err != nil {
			panic(err)
		}
	}
	g := fleet.New[string](rdb, append(opts, fleet.WithOpTimeout(5*time.Second))...)
	defer g.Close()
	var rep stressReport
	var answered, values, ctxErrs, wrong atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range a.Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
			for next.Add(1) <= int64(a.Ops) {
				key := strconv.Itoa(rng.IntN(a.Keys))
				wait := 30 * time.Second
				if rng.IntN(10) == 0 {
					wait = time.Duration(rng.IntN(2000)) * time.Microsecond
				}
				work := time.Duration(rng.IntN(300)) * time.Microsecond
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				v, err, _ := g.Do(ctx, key, func(ctx context.Context) (string, error) {
					tell("S", key)
					work := time.NewTimer(work)
					select { // work, cut short when abandoned
					case <-work.C:
					case <-ctx.Done():
						work.Stop()
					}
					tell("E", key)
					return key + "@" + strconv.Itoa(os.Getpid()), nil
				})
				cancel()
				answered.Add(1)
				switch {
				case err == nil && strings.HasPrefix(v, key+"@"):
					values.Add(1)
				case err != nil && wait < time.Second && contextErr(err):
					ctxErrs.Add(1)
				default:
					wrong.Add(1)
					fmt.Fprintf(os.Stderr, "wrong answer for %s: %q %v\n", key, v, err)
				}
			}
		}()
	}
	wg.Wait()
	rep.Ops, rep.Answered, rep.Values = a.Ops, int(answered.Load()), int(values.Load())
	rep.CtxErrors, rep.Wrong, rep.Stats = int(ctxErrs.Load()), int(wrong.Load()), g.Stats()
	b, _ := json.Marshal(rep)
	say("report %s", b)
	return 0
}

func contextErr(err error) bool {
	return err == context.DeadlineExceeded || err == context.Canceled
}

// referee counts, across processes, how many fn run at once per key.
type referee struct {
	l        net.Listener
	mu       sync.Mutex
	running  map[string]int
	runs     int
	overlaps int
	wg       sync.WaitGroup
}

func newReferee(t *testing.T) *referee {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &referee{l: l, running: map[string]int{}}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.wg.Add(1)
			go r.serve(c)
		}
	}()
	t.Cleanup(func() { l.Close(); r.wg.Wait() })
	return r
}

func (r *referee) serve(c net.Conn) {
	defer r.wg.Done()
	defer c.Close()
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		what, key, _ := strings.Cut(sc.Text(), " ")
		r.mu.Lock()
		if what == "S" {
			r.runs++
			r.running[key]++
			if r.running[key] > 1 {
				r.overlaps++
			}
		} else {
			r.running[key]--
		}
		r.mu.Unlock()
		if _, err := io.WriteString(c, "k\n"); err != nil {
			return
		}
	}
}

// Stress: at least 10^5 calls over 4 processes (FLEET_STRESS_OPS sets the
// total). No answer is lost or wrong, and fn never runs twice at once for
// a key except across a counted takeover or abandoned lead (whose fn may
// still be returning when the next leader starts) or a fallback.
func TestStressProcesses(t *testing.T) {
	total := 100_000
	if s := os.Getenv("FLEET_STRESS_OPS"); s != "" {
		var err error
		total, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	const procs = 4
	ctx := within(t, 5*time.Minute)
	ref := newReferee(t)
	events := make(chan string, 100)
	args := stressArgs{Ops: total / procs, Goroutines: 8, Keys: 32, Referee: ref.l.Addr().String()}
	for range procs {
		startWorker(t, "stress", redisAddr, 2*time.Second, args, events)
	}
	var sum stressReport
	for range procs {
		e := parse(recv(t, ctx, events, "reports"))
		require.Equal(t, "report", e.word)
		var rep stressReport
		require.NoError(t, json.Unmarshal([]byte(e.rest), &rep))
		assert.Equal(t, rep.Ops, rep.Answered, "every call answered")
		assert.Zero(t, rep.Wrong)
		sum.Ops += rep.Ops
		sum.Values += rep.Values
		sum.CtxErrors += rep.CtxErrors
		s := &sum.Stats
		s.Leads += rep.Stats.Leads
		s.Follows += rep.Stats.Follows
		s.Takeovers += rep.Stats.Takeovers
		s.Abandoned += rep.Stats.Abandoned
		s.Fallbacks += rep.Stats.Fallbacks
		s.RedisErrors += rep.Stats.RedisErrors
		s.Joins += rep.Stats.Joins
	}
	ref.mu.Lock()
	runs, overlaps := ref.runs, ref.overlaps
	ref.mu.Unlock()
	t.Logf("%d calls: %d values, %d left early; fn ran %d times; %+v; overlaps %d",
		sum.Ops, sum.Values, sum.CtxErrors, runs, sum.Stats, overlaps)
	assert.GreaterOrEqual(t, sum.Ops, total)
	assert.Zero(t, sum.Stats.RedisErrors)
	assert.LessOrEqual(t, uint64(overlaps), sum.Stats.Takeovers+sum.Stats.Abandoned+sum.Stats.Fallbacks)
	assert.Equal(t, uint64(runs), sum.Stats.Leads+sum.Stats.Fallbacks, "every run of fn is a counted lead or fallback")
	assert.NotZero(t, sum.Stats.Follows, "the processes did coordinate")
}
