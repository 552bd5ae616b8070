package main

import (
	"encoding/json"
	"time"
)

// exec_task reports fleet status for a tick whose body is an RFC 3339 time.
func exec_task(arg string) string {
	status := map[string]string{"status": "ok", "at": ""}
	t, err := time.Parse(time.RFC3339, arg)
	if err != nil {
		status["status"] = "bad tick: " + arg
	} else {
		status["at"] = t.UTC().Format(time.RFC3339)
	}
	out, _ := json.Marshal(status)
	return string(out)
}
