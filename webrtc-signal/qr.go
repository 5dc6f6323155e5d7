package webrtcsignal

import "rsc.io/qr"

// qrLines draws text as a QR code with block characters, two modules per
// line. Light modules are drawn as blocks so the code reads on a dark
// terminal; a two-module light margin is drawn around it (phones read
// that, and it keeps the code narrow).
func qrLines(text string) ([]string, error) {
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		return nil, err
	}
	const quiet = 2
	n := code.Size
	light := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return true
		}
		return !code.Black(x, y)
	}
	var lines []string
	for y := -quiet; y < n+quiet; y += 2 {
		line := make([]rune, 0, n+2*quiet)
		for x := -quiet; x < n+quiet; x++ {
			top, bottom := light(x, y), y+1 >= n+quiet || light(x, y+1)
			switch {
			case top && bottom:
				line = append(line, '█')
			case top:
				line = append(line, '▀')
			case bottom:
				line = append(line, '▄')
			default:
				line = append(line, ' ')
			}
		}
		lines = append(lines, string(line))
	}
	return lines, nil
}
