package main

import (
	"encoding/json"
	"math"
)

type reading struct {
	Sensor     string  `json:"sensor"`
	Fahrenheit float64 `json:"fahrenheit"`
}

type celsius struct {
	Sensor  string  `json:"sensor"`
	Celsius float64 `json:"celsius"`
}

// exec_task converts one Fahrenheit reading to Celsius, rounded to 0.1 degree.
// A reading that is not valid JSON is an error (a panic becomes the task's error).
func exec_task(arg string) string {
	var r reading
	if err := json.Unmarshal([]byte(arg), &r); err != nil {
		panic("invalid reading: " + err.Error())
	}
	c := math.Round((r.Fahrenheit-32)*5/9*10) / 10
	out, _ := json.Marshal(celsius{Sensor: r.Sensor, Celsius: c + 0})
	return string(out)
}
