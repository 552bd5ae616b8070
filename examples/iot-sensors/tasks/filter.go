package main

import "encoding/json"

type measurement struct {
	Sensor  string  `json:"sensor"`
	Celsius float64 `json:"celsius"`
	Level   string  `json:"level,omitempty"`
}

// exec_task passes on readings outside the comfortable range, tagged with a
// level; comfortable readings produce nothing (an empty result publishes nothing).
func exec_task(arg string) string {
	var m measurement
	if err := json.Unmarshal([]byte(arg), &m); err != nil {
		panic("invalid measurement: " + err.Error())
	}
	switch {
	case m.Celsius >= 60 || m.Celsius <= -20:
		m.Level = "critical"
	case m.Celsius >= 35 || m.Celsius <= 0:
		m.Level = "warning"
	default:
		return ""
	}
	out, _ := json.Marshal(m)
	return string(out)
}
