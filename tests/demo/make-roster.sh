#!/bin/sh
# make-roster.sh: write the demo school's OneRoster 1.2 CSV roster.
#
# Deterministic: the same files every run (no clock, no randomness).
# Output goes to roster/ beside this script. users.csv uses CRLF line
# endings (as some MIS exports do); every other file uses LF.
#
# Layout: 88 Year 8 pupils, 6 teachers, 6 classes of 30 pupils.
# Pupils 1-4 take all three subjects; the others take two, in rotation
# (science + history, science + French, history + French). Within a
# subject, pupils alternate between its two classes.
#
# Usage: sh tests/demo/make-roster.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/roster"
mkdir -p "$out"

LC_ALL=C awk -v out="$out" '
function q(s) {
	# RFC 4180 quoting, only when needed
	if (s ~ /[",\r\n]/) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
	return s
}
function row(file, line, eol,    n, f, i, s) {
	# line: fields joined by SUBSEP
	n = split(line, f, SUBSEP)
	s = q(f[1])
	for (i = 2; i <= n; i++) s = s "," q(f[i])
	printf "%s%s", s, eol > file
}
function r(a, b, c, d, e, f, g, h, i, j, k, l, m, n2, o, p, q2, r2) {
	# join 18 fields with SUBSEP; rows with fewer columns are trimmed by cut()
	return a SUBSEP b SUBSEP c SUBSEP d SUBSEP e SUBSEP f SUBSEP g SUBSEP h SUBSEP i SUBSEP j SUBSEP k SUBSEP l SUBSEP m SUBSEP n2 SUBSEP o SUBSEP p SUBSEP q2 SUBSEP r2
}
function cut(line, nf,    f, n, i, s) {
	n = split(line, f, SUBSEP)
	s = f[1]
	for (i = 2; i <= nf; i++) s = s SUBSEP f[i]
	return s
}
function enrol(cls, user, role, primary) {
	nenr++
	row(F_ENR, cut(r("enr-" substr(cls, 7) "-" user, "active", TS, cls,
	    ORG, user, role, primary, BEGIN_DATE, END_DATE), 10), "\n")
	size[cls]++
}
BEGIN {
	TS = "2026-09-01T08:00:00.000Z"
	ORG = "org-demo-school"
	YEAR = "as-2026-27"
	BEGIN_DATE = "2026-09-01"
	END_DATE = "2027-07-21"
	TERMS = YEAR "-autumn," YEAR "-spring," YEAR "-summer"
	LF = "\n"; CRLF = "\r\n"

	F_MAN = out "/manifest.csv"
	F_ORG = out "/orgs.csv"
	F_AS = out "/academicSessions.csv"
	F_CRS = out "/courses.csv"
	F_CLS = out "/classes.csv"
	F_USR = out "/users.csv"
	F_ENR = out "/enrollments.csv"

	# manifest.csv
	printf "propertyName,value\n" > F_MAN
	nm = split("manifest.version=1.0 oneroster.version=1.2 " \
	    "file.academicSessions=bulk file.categories=absent " \
	    "file.classes=bulk file.classResources=absent " \
	    "file.courses=bulk file.courseResources=absent " \
	    "file.demographics=absent file.enrollments=bulk " \
	    "file.lineItems=absent file.orgs=bulk file.resources=absent " \
	    "file.results=absent file.users=bulk source.systemName=recalld-demo", m, " ")
	for (i = 1; i <= nm; i++) {
		split(m[i], kv, "=")
		printf "%s,%s\n", kv[1], kv[2] > F_MAN
	}

	# orgs.csv
	printf "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" > F_ORG
	row(F_ORG, cut(r(ORG, "active", TS, "Demo School", "school", "DEMO001", ""), 7), LF)

	# academicSessions.csv
	printf "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n" > F_AS
	row(F_AS, cut(r(YEAR, "active", TS, "2026-27", "schoolYear", "2026-09-01", "2027-07-21", "", "2027"), 9), LF)
	row(F_AS, cut(r(YEAR "-autumn", "active", TS, "Autumn term 2026", "term", "2026-09-01", "2026-12-18", YEAR, "2027"), 9), LF)
	row(F_AS, cut(r(YEAR "-spring", "active", TS, "Spring term 2027", "term", "2027-01-04", "2027-03-26", YEAR, "2027"), 9), LF)
	row(F_AS, cut(r(YEAR "-summer", "active", TS, "Summer term 2027", "term", "2027-04-12", "2027-07-21", YEAR, "2027"), 9), LF)

	# courses.csv
	printf "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n" > F_CRS
	row(F_CRS, cut(r("course-ks3-science", "active", TS, YEAR, "KS3 Science", "KS3-SCI", "07,08,09", ORG, "Science", ""), 10), LF)
	row(F_CRS, cut(r("course-ks3-history", "active", TS, YEAR, "KS3 History", "KS3-HIS", "07,08,09", ORG, "History", ""), 10), LF)
	row(F_CRS, cut(r("course-ks3-french", "active", TS, YEAR, "KS3 French vocabulary", "KS3-FRE", "07,08,09", ORG, "French", ""), 10), LF)

	# classes.csv: id|title|course|code|room|subject|period
	nc = split("class-8a-sci|8A Science|course-ks3-science|8A/Sc|Lab 1|Science|1;" \
	    "class-8b-sci|8B Science|course-ks3-science|8B/Sc|Lab 2|Science|2;" \
	    "class-8a-hist|8A History|course-ks3-history|8A/Hi|H3|History|3;" \
	    "class-8c-hist|8C History|course-ks3-history|8C/Hi|H4|History|4;" \
	    "class-8a-fr|8A French|course-ks3-french|8A/Fr|L2|French|5;" \
	    "class-8b-fr|8B French|course-ks3-french|8B/Fr|L5|French|6", cl, ";")
	printf "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n" > F_CLS
	for (i = 1; i <= nc; i++) {
		split(cl[i], c, "|")
		classid[i] = c[1]
		row(F_CLS, cut(r(c[1], "active", TS, c[2], "08", c[3], c[4], "scheduled",
		    c[5], ORG, TERMS, c[6], "", c[7]), 14), LF)
	}

	# users.csv (CRLF)
	printf "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\r\n" > F_USR

	# teachers: id|given|family|login|staff code; teacher i teaches class i
	nt = split("teacher-01|Joy|Okafor|j.okafor|JOK;" \
	    "teacher-02|Sanjay|Mehta|s.mehta|SME;" \
	    "teacher-03|Eleanor|Hughes|e.hughes|EHU;" \
	    "teacher-04|Daniel|Kowalski|d.kowalski|DKO;" \
	    "teacher-05|Amélie|Laurent|a.laurent|ALA;" \
	    "teacher-06|Gareth|Price|g.price|GPR", tl, ";")
	for (i = 1; i <= nt; i++) {
		split(tl[i], t, "|")
		teacher[i] = t[1]
		row(F_USR, r(t[1], "active", TS, "true", ORG, "teacher", t[4],
		    "{MIS:" t[5] "}", t[2], t[3], "", t[5],
		    t[4] "@demo-school.example", "", "", "", "", ""), CRLF)
	}

	# pupils
	nf = split("Amelia Oliver Aisha Mohammed Isla Noah Zara Harry Priya Leo " \
	    "Freya Yusuf Grace Kwame Sofia Arjun Evie Jack Maya Reuben Chloe " \
	    "Ibrahim Poppy Kai Hannah Oskar Niamh Tomasz Ella Dev Ruby Callum " \
	    "Amara Finley Lily Hassan Megan Rhys Zoë Theo Anaya Seren Lucas Imogen", first, " ")
	nl = split("Smith Patel Jones Khan Williams Taylor Brown Davies Evans " \
	    "Wilson Thomas Johnson Roberts Ahmed Walker Wright Robinson Thompson " \
	    "White Hughes Edwards Green Hall Wood Harris Clarke Lewis O'"'"'Brien " \
	    "Jackson Nowak Begum Murphy Campbell Mensah Ali Kowalczyk Morgan " \
	    "Adeyemi Chen Nguyen Hussain", family, " ")
	NP = 88
	for (i = 1; i <= NP; i++) {
		id = sprintf("pupil-%03d", i)
		pupil[i] = id
		given = first[(i - 1) % nf + 1]
		fam = family[((i - 1) * 7 + 3) % nl + 1]
		adm = sprintf("25%03d", i)
		login = tolower(fam substr(given, 1, 1))
		gsub(/[^a-z]/, "", login)
		login = "25" login
		if (login in used) login = login (++used[login])
		used[login] = 1
		row(F_USR, r(id, "active", TS, "true", ORG, "student", login,
		    "{MIS:" adm "}", given, fam, "", adm,
		    login "@pupils.demo-school.example", "", "", "", "08", ""), CRLF)
	}

	# enrollments.csv
	printf "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n" > F_ENR
	for (i = 1; i <= nc; i++) enrol(classid[i], teacher[i], "teacher", "true")
	# subject s has classes 2s-1 and 2s (science=1, history=2, French=3)
	for (i = 1; i <= NP; i++) {
		if (i <= 4) subj = "1 2 3"
		else {
			g = (i - 5) % 3
			subj = (g == 0) ? "1 2" : (g == 1) ? "1 3" : "2 3"
		}
		ns = split(subj, ss, " ")
		for (k = 1; k <= ns; k++) {
			s = ss[k]
			taken[s]++
			enrol(classid[2 * s - (taken[s] % 2)], pupil[i], "student", "false")
		}
	}
	for (i = 1; i <= nc; i++) printf "%s: %d members\n", classid[i], size[classid[i]] > "/dev/stderr"
	printf "users: %d teachers, %d pupils; enrollments: %d\n", nt, NP, nenr > "/dev/stderr"
}'
