package fleet

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts, one file each under scripts/ with a header that says
// what they take, return and why they must be atomic. go-redis runs them
// with EVALSHA and falls back to EVAL when the server does not know them.
var (
	//go:embed scripts/acquire.lua
	acquireLua string
	//go:embed scripts/renew.lua
	renewLua string
	//go:embed scripts/finish.lua
	finishLua string

	acquireScript = redis.NewScript(acquireLua)
	renewScript   = redis.NewScript(renewLua)
	finishScript  = redis.NewScript(finishLua)
)
