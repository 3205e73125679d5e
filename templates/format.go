package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// decimal is a java.math.BigDecimal: Freemarker's ?eval_json and its BigDecimal arithmetic
// engine keep every number exact, so rounding happens only when a number is formatted.
type decimal struct {
	u *big.Int // unscaled value
	s int      // scale: value = u * 10^-s, s >= 0
}

// maxExponent bounds the exponents accepted in numbers so that 1e999999999 cannot exhaust memory.
const maxExponent = 400

var bigTen = big.NewInt(10)

func pow10(n int) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

func decFromInt(i int64) *decimal { return &decimal{u: big.NewInt(i)} }

// parseDecimal parses a JSON or Freemarker number literal.
func parseDecimal(s string) (*decimal, error) {
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > maxExponent || e < -maxExponent {
			return nil, fmt.Errorf("number %q is out of range", s)
		}
		mant, exp = s[:i], e
	}
	neg := false
	if strings.HasPrefix(mant, "-") {
		neg, mant = true, mant[1:]
	} else if strings.HasPrefix(mant, "+") {
		mant = mant[1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || len(digits) > 1000 || strings.Trim(digits, "0123456789") != "" {
		return nil, fmt.Errorf("%q is not a number", s)
	}
	var u *big.Int
	if len(digits) <= 18 {
		i, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		u = big.NewInt(i)
	} else if v, ok := new(big.Int).SetString(digits, 10); ok {
		u = v
	} else {
		return nil, fmt.Errorf("%q is not a number", s)
	}
	if neg {
		u.Neg(u)
	}
	scale := len(frac) - exp
	if scale < 0 {
		u.Mul(u, pow10(-scale))
		scale = 0
	}
	return &decimal{u: u, s: scale}, nil
}

// toDecimal converts the number types vars may hold.
func toDecimal(v any) (*decimal, bool, error) {
	switch n := v.(type) {
	case *decimal:
		return n, true, nil
	case json.Number:
		d, err := parseDecimal(string(n))
		return d, true, err
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, true, errors.New("NaN and infinite numbers are not supported")
		}
		d, err := parseDecimal(strconv.FormatFloat(n, 'g', -1, 64))
		return d, true, err
	case float32:
		return toDecimal(float64(n))
	case int:
		return decFromInt(int64(n)), true, nil
	case int8:
		return decFromInt(int64(n)), true, nil
	case int16:
		return decFromInt(int64(n)), true, nil
	case int32:
		return decFromInt(int64(n)), true, nil
	case int64:
		return decFromInt(n), true, nil
	case uint:
		return &decimal{u: new(big.Int).SetUint64(uint64(n))}, true, nil
	case uint8:
		return decFromInt(int64(n)), true, nil
	case uint16:
		return decFromInt(int64(n)), true, nil
	case uint32:
		return decFromInt(int64(n)), true, nil
	case uint64:
		return &decimal{u: new(big.Int).SetUint64(n)}, true, nil
	}
	return nil, false, nil
}

func align(a, b *decimal) (*big.Int, *big.Int, int) {
	if a.s == b.s {
		return a.u, b.u, a.s
	}
	if a.s < b.s {
		return new(big.Int).Mul(a.u, pow10(b.s-a.s)), b.u, b.s
	}
	return a.u, new(big.Int).Mul(b.u, pow10(a.s-b.s)), a.s
}

func (a *decimal) add(b *decimal) *decimal {
	x, y, s := align(a, b)
	return &decimal{u: new(big.Int).Add(x, y), s: s}
}

func (a *decimal) sub(b *decimal) *decimal {
	x, y, s := align(a, b)
	return &decimal{u: new(big.Int).Sub(x, y), s: s}
}

func (a *decimal) mul(b *decimal) *decimal {
	return &decimal{u: new(big.Int).Mul(a.u, b.u), s: a.s + b.s}
}

func (a *decimal) cmp(b *decimal) int {
	x, y, _ := align(a, b)
	return x.Cmp(y)
}

func (a *decimal) sign() int { return a.u.Sign() }

// div is BigDecimalArithmeticEngine.divide: scale max(12, scales), rounding HALF_UP.
func (a *decimal) div(b *decimal) (*decimal, error) {
	if b.sign() == 0 {
		return nil, errors.New("division by zero")
	}
	scale := max(12, a.s, b.s)
	// a.u*10^-a.s / (b.u*10^-b.s) = a.u*10^(scale+b.s-a.s) / b.u * 10^-scale
	num := new(big.Int).Set(a.u)
	den := new(big.Int).Set(b.u)
	if e := scale + b.s - a.s; e >= 0 {
		num.Mul(num, pow10(e))
	} else {
		den.Mul(den, pow10(-e))
	}
	return &decimal{u: divRound(num, den, false), s: scale}, nil
}

// mod is BigDecimalArithmeticEngine.modulus, which works on the operands' long values.
func (a *decimal) mod(b *decimal) (*decimal, error) {
	x, y := a.trunc(), b.trunc()
	if !x.IsInt64() || !y.IsInt64() {
		return nil, errors.New("operands of % must fit in a long")
	}
	if y.Sign() == 0 {
		return nil, errors.New("division by zero")
	}
	return &decimal{u: new(big.Int).Rem(x, y)}, nil
}

func (a *decimal) trunc() *big.Int {
	if a.s == 0 {
		return a.u
	}
	return new(big.Int).Quo(a.u, pow10(a.s))
}

// divRound divides num by den rounding half-up (halfEven=false) or half-even.
func divRound(num, den *big.Int, halfEven bool) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() == 0 {
		return q
	}
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	c := twice.Cmp(new(big.Int).Abs(den))
	up := c > 0 || (c == 0 && (!halfEven || q.Bit(0) == 1))
	if up {
		if (num.Sign() < 0) != (den.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// numberFormat is the subset of java.text.DecimalFormat patterns supported: digits (#, 0),
// grouping (,) and one decimal point, rounding HALF_EVEN, en_US symbols.
type numberFormat struct {
	minInt, minFrac, maxFrac int
	group                    int // grouping size, 0 for none
}

// defaultFormat is NumberFormat.getNumberInstance(Locale.US): "#,##0.###".
var defaultFormat = numberFormat{minInt: 1, maxFrac: 3, group: 3}

// computerFormat is what ?c uses in Freemarker 2.3.31: "0.################", no grouping.
var computerFormat = numberFormat{minInt: 1, maxFrac: 16}

// namedNumberFormat is the number format ?string("...") names: "number", "computer" or a pattern.
func namedNumberFormat(p string) (numberFormat, error) {
	switch p {
	case "number":
		return defaultFormat, nil
	case "computer":
		return computerFormat, nil
	case "currency", "percent", "short", "medium", "long", "full":
		return numberFormat{}, fmt.Errorf("number format %q is not supported: use a pattern such as \"0.00\"", p)
	}
	return parseNumberFormat(p)
}

func parseNumberFormat(p string) (numberFormat, error) {
	var f numberFormat
	if p == "" || strings.Trim(p, "#0,.") != "" || strings.Count(p, ".") > 1 {
		return f, fmt.Errorf("number format %q is not supported: use a pattern of #, 0, \",\" and \".\" such as \"0.00\" or \"#,##0.##\"", p)
	}
	ip, fp, _ := strings.Cut(p, ".")
	if strings.Contains(fp, ",") {
		return f, fmt.Errorf("number format %q has a grouping separator after the decimal point", p)
	}
	if i := strings.LastIndexByte(ip, ','); i >= 0 {
		f.group = len(ip) - i - 1
		if f.group == 0 {
			return f, fmt.Errorf("number format %q ends its integer part with a grouping separator", p)
		}
	}
	digits := strings.ReplaceAll(ip, ",", "")
	seen0 := false
	for _, c := range digits {
		if c == '0' {
			seen0 = true
			f.minInt++
		} else if seen0 {
			return f, fmt.Errorf("number format %q has # after 0 in its integer part", p)
		}
	}
	seenHash := false
	for _, c := range fp {
		if c == '#' {
			seenHash = true
		} else if seenHash {
			return f, fmt.Errorf("number format %q has 0 after # in its fraction", p)
		} else {
			f.minFrac++
		}
	}
	f.maxFrac = len(fp)
	if digits == "" && fp == "" {
		return f, fmt.Errorf("number format %q has no digits", p)
	}
	// Freemarker prints "0.5" for #.## (not ".5" as a bare DecimalFormat would).
	f.minInt = max(f.minInt, 1)
	return f, nil
}

// format renders d the way DecimalFormat does for the pattern.
func (f numberFormat) format(d *decimal) string {
	u := d.u
	s := d.s
	if s > f.maxFrac {
		u = divRound(u, pow10(s-f.maxFrac), true)
		s = f.maxFrac
	}
	neg := d.u.Sign() < 0
	digits := new(big.Int).Abs(u).String()
	if len(digits) <= s {
		digits = strings.Repeat("0", s-len(digits)+1) + digits
	}
	ip, fp := digits[:len(digits)-s], digits[len(digits)-s:]
	fp = strings.TrimRight(fp, "0")
	for len(fp) < f.minFrac {
		fp += "0"
	}
	ip = strings.TrimLeft(ip, "0")
	for len(ip) < f.minInt {
		ip = "0" + ip
	}
	if ip == "" && fp == "" {
		ip = "0"
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if f.group > 0 && len(ip) > f.group {
		first := len(ip) % f.group
		if first > 0 {
			b.WriteString(ip[:first])
		}
		for i := first; i < len(ip); i += f.group {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(ip[i : i+f.group])
		}
	} else {
		b.WriteString(ip)
	}
	if fp != "" {
		b.WriteByte('.')
		b.WriteString(fp)
	}
	return b.String()
}
