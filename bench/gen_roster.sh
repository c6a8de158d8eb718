#!/bin/sh
# gen_roster.sh: write a synthetic OneRoster 1.2 CSV set (bulk) to DIR for
# the import benchmark: PUPILS pupils (default 10000), 40 teachers, 20
# courses, 400 classes; each teacher teaches 10 classes, each pupil is in 4.
#
#   bench/gen_roster.sh DIR [PUPILS]
#
# Deterministic: the same arguments write the same files.
set -eu
dir=${1:?usage: gen_roster.sh DIR [PUPILS]}
pupils=${2:-10000}
mkdir -p "$dir"

awk -v dir="$dir" -v pupils="$pupils" 'BEGIN {
	teachers = 40; courses = 20; classes = 400; per_pupil = 4
	stamp = "2025-09-01T08:00:00Z"
	f = dir "/manifest.csv"
	print "propertyName,value" > f
	print "manifest.version,1.0" > f
	print "oneroster.version,1.2" > f
	print "file.academicSessions,bulk" > f
	print "file.classes,bulk" > f
	print "file.courses,bulk" > f
	print "file.enrollments,bulk" > f
	print "file.orgs,bulk" > f
	print "file.users,bulk" > f
	print "file.demographics,absent" > f
	print "source.systemName,gen_roster.sh" > f

	f = dir "/orgs.csv"
	print "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId" > f
	print "org-1,active," stamp ",Benchmark Academy,school,BA," > f

	f = dir "/academicSessions.csv"
	print "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear" > f
	print "term-2025,active," stamp ",2025-26,schoolYear,2025-09-01,2026-07-20,,2026" > f

	f = dir "/courses.csv"
	print "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects" > f
	for (c = 0; c < courses; c++)
		printf "crs-%02d,active,%s,term-2025,\"Course %d, Key Stage %d\",C%02d,%02d,org-1,Subject %d\n",
		    c, stamp, c, 3 + c % 2, c, 7 + c % 5, c > f

	f = dir "/classes.csv"
	print "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods" > f
	for (k = 0; k < classes; k++)
		printf "cls-%03d,active,%s,Class %03d,%02d,crs-%02d,K%03d,scheduled,Room %d,org-1,term-2025,,,%d\n",
		    k, stamp, k, 7 + k % 5, k % courses, k, k % 60, 1 + k % 6 > f

	f = dir "/users.csv"
	print "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password" > f
	for (t = 0; t < teachers; t++)
		printf "tch-%02d,active,%s,true,org-1,teacher,tch%02d,,Teacher,Number %d,,,tch%02d@bench.example,,,,,\n",
		    t, stamp, t, t, t > f
	for (p = 0; p < pupils; p++)
		printf "pup-%05d,active,%s,true,org-1,student,pup%05d,,Pupil,P%05d,,,,,,,%02d,\n",
		    p, stamp, p, p, 7 + p % 5 > f

	f = dir "/enrollments.csv"
	print "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate" > f
	n = 0
	for (k = 0; k < classes; k++)
		printf "enr-%06d,active,%s,cls-%03d,org-1,tch-%02d,teacher,true,2025-09-01,2026-07-20\n",
		    n++, stamp, k, k % teachers > f
	for (p = 0; p < pupils; p++)
		for (j = 0; j < per_pupil; j++)
			printf "enr-%06d,active,%s,cls-%03d,org-1,pup-%05d,student,false,2025-09-01,2026-07-20\n",
			    n++, stamp, (p + j * 100) % classes, p > f
}'
