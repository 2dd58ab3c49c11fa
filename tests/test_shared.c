/* test_shared.c: list, namespace, value and array against Python's semantics, the atomic
 * ops, versions and the limits, through the real op table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "envelope.h"

static session *a;

static void setup(void)
{
	h_setup();
	a = h_session();
}

START_TEST(list_basic_ops_follow_python)
{
	static const struct h_step steps[] = {
		{"{'op':'list.read','name':'l'}", "[]"},
		{"{'op':'list.len','name':'l'}", "0"},
		{"{'op':'list.create','name':'l','items':[0,1,2]}", "true"},
		{"{'op':'list.create','name':'l','items':[7]}", "false"},
		{"{'op':'list.append','name':'l','value':{'x':[1]}}", "null"},
		{"{'op':'list.extend','name':'l','items':['a',null]}", "null"},
		{"{'op':'list.read','name':'l'}", "[0,1,2,{'x':[1]},'a',null]"},
		{"{'op':'list.insert','name':'l','index':-2,'value':'x'}", "null"},
		{"{'op':'list.insert','name':'l','index':100,'value':'y'}", "null"},
		{"{'op':'list.insert','name':'l','index':-100,'value':'z'}", "null"},
		{"{'op':'list.read','name':'l'}", "['z',0,1,2,{'x':[1]},'x','a',null,'y']"},
		{"{'op':'list.pop','name':'l'}", "'y'"},
		{"{'op':'list.pop','name':'l','index':0}", "'z'"},
		{"{'op':'list.pop','name':'l','index':-3}", "'x'"},
		{"{'op':'list.index','name':'l','value':{'x':[1.0]}}", "3"},
		{"{'op':'list.index','name':'l','value':2.0}", "2"},
		{"{'op':'list.index','name':'l','value':2,'start':-2}", "!value_error"},
		{"{'op':'list.index','name':'l','value':'a','start':-2,'stop':99}", "4"},
		{"{'op':'list.index','name':'l','value':'2'}", "!value_error"},
		{"{'op':'list.contains','name':'l','value':null}", "true"},
		{"{'op':'list.contains','name':'l','value':false}", "false"},
		{"{'op':'list.append','name':'l','value':1.0}", "null"},
		{"{'op':'list.count','name':'l','value':1}", "2"},
		{"{'op':'list.count','name':'l','value':true}", "0"},
		{"{'op':'list.remove','name':'l','value':1}", "null"},
		{"{'op':'list.read','name':'l'}", "[0,2,{'x':[1]},'a',null,1.0]"},
		{"{'op':'list.remove','name':'l','value':'zz'}", "!value_error"},
		{"{'op':'list.reverse','name':'l'}", "null"},
		{"{'op':'list.read','name':'l'}", "[1.0,null,'a',{'x':[1]},2,0]"},
		{"{'op':'list.len','name':'l'}", "6"},
		{"{'op':'list.clear','name':'l'}", "null"},
		{"{'op':'list.read','name':'l'}", "[]"},
		{"{'op':'list.pop','name':'l'}", "!index_error"},
		{"{'op':'list.pop','name':'nothing'}", "!index_error"},
		{"{'op':'list.append','name':'l','value':5}", "null"},
		{"{'op':'list.pop','name':'l','index':1}", "!index_error"},
		{"{'op':'list.pop','name':'l','index':-2}", "!index_error"},
		{"{'op':'list.pop','name':'l','index':'0'}", "!bad_argument"},
		{"{'op':'list.insert','name':'l','value':1}", "!bad_argument"},
		{"{'op':'list.append','name':'l'}", "!bad_argument"},
		{"{'op':'list.extend','name':'l','items':{'a':1}}", "!bad_argument"},
		{"{'op':'list.create','name':'l2','items':5}", "!bad_argument"},
		{"{'op':'list.append','name':'l','value':1,'colour':2}", "!bad_argument"},
		{"{'op':'dict.set','name':'d','key':1,'value':1}", "null"},
		{"{'op':'list.append','name':'d','value':1}", "!wrong_type"},
		{"{'op':'list.read','name':'d'}", "!wrong_type"},
	};
	H_STEPS(a, steps);
}
END_TEST

START_TEST(list_index_and_slice_access)
{
	static const struct h_step steps[] = {
		{"{'op':'list.extend','name':'l','items':[0,1,2,3,4,5,6,7,8,9]}", "null"},
		{"{'op':'list.get','name':'l','index':-1}", "9"},
		{"{'op':'list.get','name':'l','index':10}", "!index_error"},
		{"{'op':'list.get','name':'l','index':-11}", "!index_error"},
		{"{'op':'list.get','name':'l','slice':[null,null,3]}", "[0,3,6,9]"},
		{"{'op':'list.get','name':'l','slice':[-3,null]}", "[7,8,9]"},
		{"{'op':'list.get','name':'l','slice':[8,2,-2]}", "[8,6,4]"},
		{"{'op':'list.get','name':'l','slice':[null,-8,-1]}", "[9,8,7,6,5,4,3]"},
		{"{'op':'list.get','name':'l','slice':[100,null]}", "[]"},
		{"{'op':'list.get','name':'l','slice':[-100,2]}", "[0,1]"},
		{"{'op':'list.get','name':'l','slice':[0,10,9223372036854775807]}", "[0]"},
		{"{'op':'list.get','name':'l','slice':[null,null,-9223372036854775807]}", "[9]"},
		{"{'op':'list.get','name':'l','slice':[0,5,0]}", "!value_error"},
		{"{'op':'list.get','name':'l','slice':[0]}", "!bad_argument"},
		{"{'op':'list.get','name':'l','slice':[0,1.5]}", "!bad_argument"},
		{"{'op':'list.get','name':'l','slice':[0,1],'index':0}", "!bad_argument"},
		{"{'op':'list.get','name':'l'}", "!bad_argument"},
		{"{'op':'list.set','name':'l','index':-10,'value':'first'}", "null"},
		{"{'op':'list.set','name':'l','index':10,'value':'x'}", "!index_error"},
		{"{'op':'list.set','name':'l','index':0,'value':0}", "null"},
		{"{'op':'list.set','name':'l','slice':[1,3],'value':['a','b','c']}", "null"},
		{"{'op':'list.read','name':'l'}", "[0,'a','b','c',3,4,5,6,7,8,9]"},
		{"{'op':'list.set','name':'l','slice':[1,4],'value':[1,2]}", "null"},
		{"{'op':'list.set','name':'l','slice':[null,null,2],'value':[0,0,0,0,0]}", "null"},
		{"{'op':'list.read','name':'l'}", "[0,1,0,3,0,5,0,7,0,9]"},
		{"{'op':'list.set','name':'l','slice':[null,null,2],'value':[1]}", "!value_error"},
		{"{'op':'list.set','name':'l','slice':[0,2],'value':5}", "!bad_argument"},
		{"{'op':'list.set','name':'l','slice':[5,2],'value':['in']}", "null"},
		{"{'op':'list.read','name':'l'}", "[0,1,0,3,0,'in',5,0,7,0,9]"},
		{"{'op':'list.delete','name':'l','index':5}", "null"},
		{"{'op':'list.delete','name':'l','index':10}", "!index_error"},
		{"{'op':'list.set','name':'l','slice':[null,null],'value':[0,1,2,3,4,5,6,7,8,9]}",
		 "null"},
		{"{'op':'list.delete','name':'l','slice':[null,null,3]}", "null"},
		{"{'op':'list.read','name':'l'}", "[1,2,4,5,7,8]"},
		{"{'op':'list.set','name':'l','slice':[0,null],'value':[0,1,2,3,4,5,6,7,8,9]}",
		 "null"},
		{"{'op':'list.delete','name':'l','slice':[7,1,-2]}", "null"},
		{"{'op':'list.read','name':'l'}", "[0,1,2,4,6,8,9]"},
		{"{'op':'list.delete','name':'l','slice':[3,3]}", "null"},
		{"{'op':'list.delete','name':'l','slice':[-2,null]}", "null"},
		{"{'op':'list.read','name':'l'}", "[0,1,2,4,6]"},
		{"{'op':'list.set','name':'l','slice':[null,null,-1],'value':[1,2,3,4,5]}", "null"},
		{"{'op':'list.read','name':'l'}", "[5,4,3,2,1]"},
		{"{'op':'list.set','name':'l','slice':[null,null,-1],'value':[1]}", "!value_error"},
		{"{'op':'list.delete','name':'l','slice':[null,null,-2]}", "null"},
		{"{'op':'list.read','name':'l'}", "[4,2]"},
		{"{'op':'list.set','name':'l','slice':[null,null],'value':[0,1,2,4,6]}", "null"},
		{"{'op':'list.get','name':'new','slice':[null,null]}", "[]"},
		{"{'op':'list.delete','name':'new','slice':[null,null]}", "null"},
		{"{'op':'list.delete','name':'new','index':0}", "!index_error"},
		{"{'op':'list.set','name':'new','slice':[0,0],'value':[1,2]}", "null"},
		{"{'op':'list.read','name':'new'}", "[1,2]"},
	};
	H_STEPS(a, steps);
}
END_TEST

START_TEST(list_sort_one_kind_stable)
{
	static const struct h_step steps[] = {
		{"{'op':'list.extend','name':'n','items':[3,1.0,2.5,1,-7,1e3]}", "null"},
		{"{'op':'list.sort','name':'n'}", "null"},
		{"{'op':'list.read','name':'n'}", "[-7,1.0,1,2.5,3,1000.0]"},
		{"{'op':'list.sort','name':'n','reverse':true}", "null"},
		{"{'op':'list.read','name':'n'}", "[1000.0,3,2.5,1.0,1,-7]"},
		{"{'op':'list.extend','name':'s','items':['b','\\u00e9','a','B','ab','']}", "null"},
		{"{'op':'list.sort','name':'s'}", "null"},
		{"{'op':'list.read','name':'s'}", "['','B','a','ab','b','\\u00e9']"},
		{"{'op':'list.extend','name':'v','items':[[2,'a'],[1,'z'],[2],[1,'b'],true]}",
		 "null"},
		{"{'op':'list.sort','name':'v'}", "!type_error"},
		{"{'op':'list.read','name':'v'}", "[[2,'a'],[1,'z'],[2],[1,'b'],true]"},
		{"{'op':'list.pop','name':'v'}", "true"},
		{"{'op':'list.sort','name':'v'}", "null"},
		{"{'op':'list.read','name':'v'}", "[[1,'b'],[1,'z'],[2],[2,'a']]"},
		{"{'op':'list.extend','name':'m','items':[1,'1']}", "null"},
		{"{'op':'list.sort','name':'m'}", "!type_error"},
		{"{'op':'list.extend','name':'b','items':[true,false,true]}", "null"},
		{"{'op':'list.sort','name':'b'}", "null"},
		{"{'op':'list.read','name':'b'}", "[false,true,true]"},
		{"{'op':'list.append','name':'one','value':null}", "null"},
		{"{'op':'list.sort','name':'one'}", "null"},
		{"{'op':'list.append','name':'one','value':null}", "null"},
		{"{'op':'list.sort','name':'one'}", "!type_error"},
		{"{'op':'list.append','name':'o','value':{}}", "null"},
		{"{'op':'list.append','name':'o','value':{}}", "null"},
		{"{'op':'list.sort','name':'o'}", "!type_error"},
		{"{'op':'list.sort','name':'n','reverse':1}", "!bad_argument"},
		{"{'op':'list.sort','name':'missing'}", "null"},
	};
	H_STEPS(a, steps);
}
END_TEST

/* Random list and array ops that real Python ran (tests/gen_python_cases.py wrote what it
 * returned or raised into tests/python-cases.json): brokerd must answer each the same way. */
START_TEST(list_and_array_ops_match_python_on_random_cases)
{
	json_error_t jerr;
	json_t *cases = json_load_file(PYTHON_CASES, 0, &jerr), *one;
	size_t i;
	ck_assert_msg(cases != NULL, "%s: %s", PYTHON_CASES, jerr.text);
	ck_assert_int_gt(json_array_size(cases), 1000);
	json_array_foreach (cases, i, one) {
		char *req = json_dumps(json_array_get(one, 0), JSON_COMPACT);
		json_t *want = json_array_get(one, 1), *reply = h_call(a, req);
		const char *code = json_string_value(json_object_get(want, "error"));
		char *got = json_dumps(reply, JSON_COMPACT);
		if (code)
			ck_assert_msg(!strcmp(h_code(reply), code), "case %zu %s: got %s, want %s",
				      i, req, got, code);
		else
			ck_assert_msg(!strcmp(h_code(reply), "ok") &&
					      json_equal(h_result(reply),
							 json_object_get(want, "result")),
				      "case %zu %s: got %s", i, req, got);
		free(req), free(got);
	}
	json_decref(cases);
}
END_TEST

START_TEST(namespace_attributes)
{
	static const struct h_step steps[] = {
		{"{'op':'namespace.get','name':'ns','attr':'x'}", "!attribute_error"},
		{"{'op':'namespace.attrs','name':'ns'}", "[]"},
		{"{'op':'namespace.set','name':'ns','attr':'x','value':1}", "null"},
		{"{'op':'namespace.set','name':'ns','attr':'y','value':[1,{'a':null}]}", "null"},
		{"{'op':'namespace.set','name':'ns','attr':'x','value':'one'}", "null"},
		{"{'op':'namespace.get','name':'ns','attr':'x'}", "'one'"},
		{"{'op':'namespace.attrs','name':'ns'}", "['x','y']"},
		{"{'op':'namespace.read','name':'ns'}", "{'x':'one','y':[1,{'a':null}]}"},
		{"{'op':'namespace.delete','name':'ns','attr':'x'}", "null"},
		{"{'op':'namespace.delete','name':'ns','attr':'x'}", "!attribute_error"},
		{"{'op':'namespace.get','name':'ns','attr':'x'}", "!attribute_error"},
		{"{'op':'namespace.attrs','name':'ns'}", "['y']"},
		{"{'op':'namespace.set','name':'ns','attr':'','value':1}", "!bad_argument"},
		{"{'op':'namespace.set','name':'ns','attr':5,'value':1}", "!bad_argument"},
		{"{'op':'namespace.set','name':'ns','attr':'z'}", "!bad_argument"},
		{"{'op':'namespace.get','name':'ns'}", "!bad_argument"},
		{"{'op':'namespace.delete','name':'gone','attr':'x'}", "!attribute_error"},
		{"{'op':'namespace.read','name':'gone'}", "{}"},
	};
	H_STEPS(a, steps);
}
END_TEST

START_TEST(value_types_are_enforced)
{
	static const struct h_step steps[] = {
		{"{'op':'value.get','name':'v'}", "!not_found"},
		{"{'op':'value.set','name':'v','value':1}", "!not_found"},
		{"{'op':'value.create','name':'v','type':'int'}", "true"},
		{"{'op':'value.get','name':'v'}", "0"},
		{"{'op':'value.create','name':'v','type':'int','value':5}", "false"},
		{"{'op':'value.create','name':'v','type':'str'}", "!exists"},
		{"{'op':'value.set','name':'v','value':'7'}", "!type_error"},
		{"{'op':'value.set','name':'v','value':1.5}", "!type_error"},
		{"{'op':'value.set','name':'v','value':true}", "!type_error"},
		{"{'op':'value.set','name':'v','value':41}", "null"},
		{"{'op':'value.add','name':'v','delta':1}", "42"},
		{"{'op':'value.add','name':'v','delta':-50}", "-8"},
		{"{'op':'value.add','name':'v','delta':0.5}", "!type_error"},
		{"{'op':'value.add','name':'v','delta':'1'}", "!type_error"},
		{"{'op':'value.add','name':'v'}", "!bad_argument"},
		{"{'op':'value.set','name':'v','value':9223372036854775807}", "null"},
		{"{'op':'value.add','name':'v','delta':1}", "!value_error"},
		{"{'op':'value.get','name':'v'}", "9223372036854775807"},
		{"{'op':'value.cas','name':'v','expected':1,'value':2}",
		 "{'swapped':false,'value':9223372036854775807}"},
		{"{'op':'value.cas','name':'v','expected':9223372036854775807,'value':2}",
		 "{'swapped':true,'value':2}"},
		{"{'op':'value.cas','name':'v','expected':2,'value':'x'}", "!type_error"},
		{"{'op':'value.cas','name':'v','value':3}", "!bad_argument"},
		{"{'op':'value.getset','name':'v','value':3}", "2"},
		{"{'op':'value.get','name':'v'}", "3"},
		{"{'op':'value.create','name':'f','type':'float','value':1}", "true"},
		{"{'op':'value.get','name':'f'}", "1.0"},
		{"{'op':'value.add','name':'f','delta':2}", "3.0"},
		{"{'op':'value.add','name':'f','delta':0.25}", "3.25"},
		{"{'op':'value.add','name':'f','delta':1.7e308}", "1.7e308"},
		{"{'op':'value.add','name':'f','delta':1.7e308}", "!value_error"},
		{"{'op':'value.set','name':'f','value':'x'}", "!type_error"},
		{"{'op':'value.cas','name':'f','expected':1.7e308,'value':0}",
		 "{'swapped':true,'value':0.0}"},
		{"{'op':'value.create','name':'b','type':'bool','value':true}", "true"},
		{"{'op':'value.add','name':'b','delta':1}", "!type_error"},
		{"{'op':'value.set','name':'b','value':0}", "!type_error"},
		{"{'op':'value.getset','name':'b','value':false}", "true"},
		{"{'op':'value.create','name':'s','type':'str','value':'hi'}", "true"},
		{"{'op':'value.add','name':'s','delta':1}", "!type_error"},
		{"{'op':'value.getset','name':'s','value':'ho'}", "'hi'"},
		{"{'op':'value.set','name':'s','value':['x']}", "!type_error"},
		{"{'op':'value.create','name':'bad','type':'int','value':'1'}", "!type_error"},
		{"{'op':'value.create','name':'bad','type':'list'}", "!bad_argument"},
		{"{'op':'value.create','name':'bad'}", "!bad_argument"},
		{"{'op':'value.get','name':'bad'}", "!not_found"},
		{"{'op':'value.get','name':'s','value':1}", "!bad_argument"},
	};
	H_STEPS(a, steps);
}
END_TEST

START_TEST(array_fixed_length_typed)
{
	static const struct h_step steps[] = {
		{"{'op':'array.get','name':'a','index':0}", "!not_found"},
		{"{'op':'array.create','name':'a','type':'int','length':4}", "true"},
		{"{'op':'array.create','name':'a','type':'int','length':4}", "false"},
		{"{'op':'array.create','name':'a','type':'int','length':5}", "!exists"},
		{"{'op':'array.create','name':'a','type':'float','length':4}", "!exists"},
		{"{'op':'array.read','name':'a'}", "[0,0,0,0]"},
		{"{'op':'array.len','name':'a'}", "4"},
		{"{'op':'array.set','name':'a','index':-1,'value':7}", "null"},
		{"{'op':'array.set','name':'a','index':4,'value':7}", "!index_error"},
		{"{'op':'array.set','name':'a','index':0,'value':1.5}", "!type_error"},
		{"{'op':'array.set','name':'a','index':0,'value':'1'}", "!type_error"},
		{"{'op':'array.set','name':'a','slice':[0,2],'value':[1,2]}", "null"},
		{"{'op':'array.set','name':'a','slice':[0,2],'value':[1,2,3]}", "!value_error"},
		{"{'op':'array.set','name':'a','slice':[0,2],'value':[1,2.5]}", "!type_error"},
		{"{'op':'array.read','name':'a'}", "[1,2,0,7]"},
		{"{'op':'array.set','name':'a','slice':[null,null,-2],'value':[9,8]}", "null"},
		{"{'op':'array.read','name':'a'}", "[1,8,0,9]"},
		{"{'op':'array.get','name':'a','slice':[1,null]}", "[8,0,9]"},
		{"{'op':'array.get','name':'a','index':-4}", "1"},
		{"{'op':'array.get','name':'a','index':-5}", "!index_error"},
		{"{'op':'array.add','name':'a','index':2,'delta':5}", "5"},
		{"{'op':'array.add','name':'a','index':2,'delta':0.5}", "!type_error"},
		{"{'op':'array.add','name':'a','index':9,'delta':1}", "!index_error"},
		{"{'op':'array.create','name':'f','type':'float','items':[1,2.5]}", "true"},
		{"{'op':'array.read','name':'f'}", "[1.0,2.5]"},
		{"{'op':'array.set','name':'f','index':0,'value':3}", "null"},
		{"{'op':'array.add','name':'f','index':1,'delta':1}", "3.5"},
		{"{'op':'array.get','name':'f','index':0}", "3.0"},
		{"{'op':'array.create','name':'x','type':'int','length':2,'items':[1]}",
		 "!bad_argument"},
		{"{'op':'array.create','name':'x','type':'int'}", "!bad_argument"},
		{"{'op':'array.create','name':'x','type':'str','length':1}", "!bad_argument"},
		{"{'op':'array.create','name':'x','type':'int','length':-1}", "!bad_argument"},
		{"{'op':'array.create','name':'x','type':'int','items':[1,'2']}", "!type_error"},
		{"{'op':'array.create','name':'x','type':'int','length':1000001}",
		 "!limit_exceeded"},
		{"{'op':'array.len','name':'x'}", "!not_found"},
		{"{'op':'array.create','name':'e','type':'int','length':0}", "true"},
		{"{'op':'array.read','name':'e'}", "[]"},
		{"{'op':'array.get','name':'e','slice':[null,null,-1]}", "[]"},
	};
	H_STEPS(a, steps);
}
END_TEST

START_TEST(dict_incr_and_cas)
{
	static const struct h_step steps[] = {
		{"{'op':'dict.incr','name':'d','key':'hits'}", "1"},
		{"{'op':'dict.incr','name':'d','key':'hits','by':41}", "42"},
		{"{'op':'dict.incr','name':'d','key':'hits','by':0.5}", "42.5"},
		{"{'op':'dict.incr','name':'d','key':'f','by':-1.5}", "-1.5"},
		{"{'op':'dict.set','name':'d','key':'s','value':'x'}", "null"},
		{"{'op':'dict.incr','name':'d','key':'s'}", "!type_error"},
		{"{'op':'dict.incr','name':'d','key':'hits','by':'1'}", "!type_error"},
		{"{'op':'dict.incr','name':'d','key':'hits','by':true}", "!type_error"},
		{"{'op':'dict.set','name':'d','key':'big','value':9223372036854775807}", "null"},
		{"{'op':'dict.incr','name':'d','key':'big'}", "!value_error"},
		{"{'op':'dict.cas','name':'d','key':'s','expected':'x','value':'y'}",
		 "{'swapped':true,'value':'y'}"},
		{"{'op':'dict.cas','name':'d','key':'s','expected':'x','value':'z'}",
		 "{'swapped':false,'value':'y'}"},
		{"{'op':'dict.cas','name':'d','key':'nope','expected':null,'value':1}",
		 "{'swapped':false}"},
		{"{'op':'dict.cas','name':'d','key':'hits','expected':42.5,'value':[1]}",
		 "{'swapped':true,'value':[1]}"},
		{"{'op':'dict.cas','name':'d','key':'hits','value':2}", "!bad_argument"},
		{"{'op':'dict.get','name':'d','key':'hits'}", "[1]"},
	};
	H_STEPS(a, steps);
}
END_TEST

START_TEST(foreign_names_and_unknown_arguments_are_refused)
{
	static const struct h_step steps[] = {
		{"{'op':'list.append','name':'l','value':1}", "null"},
		{"{'op':'dict.set','name':'d','key':1,'value':1}", "null"},
		{"{'op':'value.create','name':'v','type':'int'}", "true"},
		{"{'op':'array.create','name':'a','type':'int','length':1}", "true"},
		{"{'op':'namespace.set','name':'n','attr':'x','value':1}", "null"},
		{"{'op':'queue.put','name':'q','value':1}", "null"},
		{"{'op':'namespace.get','name':'l','attr':'x'}", "!wrong_type"},
		{"{'op':'namespace.set','name':'q','attr':'x','value':1}", "!wrong_type"},
		{"{'op':'value.get','name':'d'}", "!wrong_type"},
		{"{'op':'value.create','name':'l','type':'int'}", "!wrong_type"},
		{"{'op':'array.read','name':'v'}", "!wrong_type"},
		{"{'op':'array.create','name':'n','type':'int','length':1}", "!wrong_type"},
		{"{'op':'list.read','name':'a'}", "!wrong_type"},
		{"{'op':'dict.incr','name':'l','key':1}", "!wrong_type"},
		{"{'op':'queue.get','name':'v','timeout':0}", "!wrong_type"},
		{"{'op':'list.append','name':'l','value':1,'key':1}", "!bad_argument"},
		{"{'op':'namespace.get','name':'n','attr':'x','default':1}", "!bad_argument"},
		{"{'op':'value.add','name':'v','delta':1,'by':1}", "!bad_argument"},
		{"{'op':'array.get','name':'a','index':0,'value':1}", "!bad_argument"},
		{"{'op':'dict.incr','name':'d','key':1,'delta':1}", "!bad_argument"},
		{"{'op':'list.get','name':'l','index':0,'version':1}", "!bad_argument"},
		{"{'op':'list.get','name':'l','index':'0'}", "!bad_argument"},
		{"{'op':'list.get','name':'l','index':1.0}", "!bad_argument"},
		{"{'op':'list.insert','name':'l','index':null,'value':1}", "!bad_argument"},
		{"{'op':'list.index','name':'l','value':1,'start':'a'}", "!bad_argument"},
		{"{'op':'array.get','name':'a','slice':'1:2'}", "!bad_argument"},
		{"{'op':'array.get','name':'a','slice':[0,1,2,3]}", "!bad_argument"},
		{"{'op':'list.read','name':'l'}", "[1]"},
	};
	H_STEPS(a, steps);
}
END_TEST

/* call_version: the version a reply reports (it must report one). */
static long long call_version(const char *req)
{
	json_t *v = json_object_get(h_call(a, req), "version");
	ck_assert_msg(json_is_integer(v), "no version in the reply to %s", req);
	return json_integer_value(v);
}

START_TEST(versions_grow_and_guard_writes)
{
	ck_assert_int_eq(call_version("{\"op\":\"list.len\",\"name\":\"l\"}"), 0);
	long long v1 = call_version("{\"op\":\"list.append\",\"name\":\"l\",\"value\":1}");
	ck_assert_int_gt(v1, 0);
	ck_assert_int_eq(call_version("{\"op\":\"list.read\",\"name\":\"l\"}"), v1);
	long long v2 = call_version("{\"op\":\"list.append\",\"name\":\"l\",\"value\":2}");
	ck_assert_int_gt(v2, v1);
	/* a write that changes nothing keeps the version */
	call_version("{\"op\":\"value.create\",\"name\":\"v\",\"type\":\"int\"}");
	long long vv = call_version("{\"op\":\"value.get\",\"name\":\"v\"}");
	ck_assert_int_eq(call_version("{\"op\":\"value.cas\",\"name\":\"v\",\"expected\":5,"
				      "\"value\":6}"),
			 vv);
	ck_assert_int_eq(call_version("{\"op\":\"value.create\",\"name\":\"v\",\"type\":\"int\"}"),
			 vv);
	/* conditional writes */
	char req[160];
	snprintf(req, sizeof req,
		 "{\"op\":\"list.append\",\"name\":\"l\",\"value\":3,\"version\":%lld}", v1);
	json_t *r = h_call(a, req);
	ck_assert_str_eq(h_code(r), "conflict");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "version")), v2);
	snprintf(req, sizeof req,
		 "{\"op\":\"list.append\",\"name\":\"l\",\"value\":3,\"version\":%lld}", v2);
	ck_assert_int_gt(call_version(req), v2);
	EXPECT_OK(a, "{\"op\":\"list.read\",\"name\":\"l\"}", "[1,2,3]");
	EXPECT_OK(a, "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":{\"a\":1},\"version\":0}",
		  "null");
	EXPECT_ERR(a, "{\"op\":\"dict.update\",\"name\":\"d\",\"items\":{\"a\":2},\"version\":0}",
		   "conflict");
	EXPECT_ERR(a, "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1,\"value\":1,\"version\":-1}",
		   "bad_argument");
	EXPECT_ERR(a,
		   "{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1,\"value\":1,\"version\":\"1\"}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"dict.get\",\"name\":\"d\",\"key\":1,\"version\":1}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"queue.put\",\"name\":\"q\",\"value\":1,\"version\":1}",
		   "bad_argument");
	/* a deleted and re-created object never repeats a version */
	long long before = call_version("{\"op\":\"dict.len\",\"name\":\"d\"}");
	EXPECT_OK(a, "{\"op\":\"del\",\"name\":\"d\"}", "true");
	ck_assert_int_gt(call_version("{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1,\"value\":1}"),
			 before);
	json_t *st = h_result(h_call(a, "{\"op\":\"stat\",\"name\":\"l\"}"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "version")),
			 call_version("{\"op\":\"list.len\",\"name\":\"l\"}"));
}
END_TEST

START_TEST(batch_checks_every_version_first)
{
	long long v = call_version("{\"op\":\"value.create\",\"name\":\"v\",\"type\":\"int\"}");
	char req[512];
	/* both conditions hold before the batch: it runs whole */
	snprintf(req, sizeof req,
		 "{\"op\":\"batch\",\"ops\":[{\"op\":\"value.add\",\"name\":\"v\",\"delta\":1,"
		 "\"version\":%lld},{\"op\":\"list.append\",\"name\":\"l\",\"value\":1,"
		 "\"version\":0},{\"op\":\"value.add\",\"name\":\"v\",\"delta\":1,\"version\":%lld}"
		 "]}",
		 v, v);
	json_t *res = h_result(h_call(a, req));
	ck_assert_int_eq(json_array_size(res), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(res, 2), "result")), 2);
	ck_assert_int_gt(json_integer_value(json_object_get(json_array_get(res, 2), "version")),
			 json_integer_value(json_object_get(json_array_get(res, 0), "version")));
	/* a stale condition anywhere: nothing runs */
	EXPECT_ERR(a, req, "conflict");
	EXPECT_OK(a, "{\"op\":\"value.get\",\"name\":\"v\"}", "2");
	EXPECT_OK(a, "{\"op\":\"list.read\",\"name\":\"l\"}", "[1]");
}
END_TEST

/* nested_new: JSON text of depth levels of arrays around 0. */
static char *nested_new(int depth)
{
	char *text = malloc((size_t)depth * 2 + 2);
	ck_assert_ptr_nonnull(text);
	memset(text, '[', (size_t)depth);
	text[depth] = '0';
	memset(text + depth + 1, ']', (size_t)depth);
	text[2 * depth + 1] = '\0';
	return text;
}

START_TEST(limits_give_clear_errors)
{
	char *deep = nested_new(PROTO_DEFAULT_MAX_DEPTH),
	     *deeper = nested_new(PROTO_DEFAULT_MAX_DEPTH + 1);
	char req[256];
	snprintf(req, sizeof req, "{\"op\":\"list.append\",\"name\":\"l\",\"value\":%s}", deep);
	EXPECT_OK(a, req, "null");
	const char *ops[] = {
		"{\"op\":\"list.append\",\"name\":\"l\",\"value\":@}",
		"{\"op\":\"list.extend\",\"name\":\"l\",\"items\":[1,@]}",
		"{\"op\":\"dict.set\",\"name\":\"d\",\"key\":1,\"value\":@}",
		"{\"op\":\"dict.update\",\"name\":\"d\",\"items\":{\"a\":@}}",
		"{\"op\":\"dict.update\",\"name\":\"d\",\"items\":[[\"a\",@]]}",
		"{\"op\":\"namespace.set\",\"name\":\"n\",\"attr\":\"a\",\"value\":@}",
		"{\"op\":\"list.create\",\"name\":\"l2\",\"items\":[@]}",
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		const char *at = strchr(ops[i], '@');
		snprintf(req, sizeof req, "%.*s%s%s", (int)(at - ops[i]), ops[i], deeper, at + 1);
		EXPECT_ERR(a, req, "limit_exceeded");
	}
	free(deep), free(deeper);
	/* a refused write does not leave an empty object behind */
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"d\"}", "not_found");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"n\"}", "not_found");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"l2\"}", "not_found");
	EXPECT_ERR(a, "{\"op\":\"list.set\",\"name\":\"l3\",\"slice\":[0,0],\"value\":1}",
		   "bad_argument");
	EXPECT_ERR(a, "{\"op\":\"dict.incr\",\"name\":\"d\",\"key\":1,\"by\":\"x\"}", "type_error");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"l3\"}", "not_found");
	EXPECT_ERR(a, "{\"op\":\"stat\",\"name\":\"d\"}", "not_found");
	/* one byte over PROTO_DEFAULT_MAX_VALUE as JSON: a string of that many bytes minus quotes */
	size_t n = PROTO_DEFAULT_MAX_VALUE - 1;
	char *big = malloc(n + 128);
	ck_assert_ptr_nonnull(big);
	int head = sprintf(big, "{\"op\":\"value.set\",\"name\":\"s\",\"value\":\"");
	memset(big + head, 'x', n);
	strcpy(big + head + n, "\"}");
	EXPECT_OK(a, "{\"op\":\"value.create\",\"name\":\"s\",\"type\":\"str\"}", "true");
	EXPECT_ERR(a, big, "limit_exceeded");
	big[head + n - 1] = '"', big[head + n] = '}', big[head + n + 1] = '\0';
	EXPECT_OK(a, big, "null");
	free(big);
	EXPECT_OK(a, "{\"op\":\"list.len\",\"name\":\"l\"}", "1");
	EXPECT_OK(a, "{\"op\":\"list.len\",\"name\":\"l2\"}", "0");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shared");
	TCase *tc = tcase_create("shared");
	tcase_add_checked_fixture(tc, setup, h_teardown);
	tcase_add_test(tc, list_basic_ops_follow_python);
	tcase_add_test(tc, list_index_and_slice_access);
	tcase_add_test(tc, list_sort_one_kind_stable);
	tcase_add_test(tc, list_and_array_ops_match_python_on_random_cases);
	tcase_add_test(tc, namespace_attributes);
	tcase_add_test(tc, value_types_are_enforced);
	tcase_add_test(tc, array_fixed_length_typed);
	tcase_add_test(tc, dict_incr_and_cas);
	tcase_add_test(tc, foreign_names_and_unknown_arguments_are_refused);
	tcase_add_test(tc, versions_grow_and_guard_writes);
	tcase_add_test(tc, batch_checks_every_version_first);
	tcase_add_test(tc, limits_give_clear_errors);
	suite_add_tcase(s, tc);
	return run_suite(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
